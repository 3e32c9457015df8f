//! The real `soldout` binary: the demo loads once and says what the company said (the
//! reference statements), imports are all or nothing, `serve` answers and stops
//! cleanly on SIGTERM, operators run sales from the command line, and every command
//! explains itself. The tests that touch a database are in `cli/suite.rs`, run here on
//! SQLite and by `cli_postgres.rs` on PostgreSQL.

include!("cli/suite.rs");

#[test]
fn every_command_explains_itself() {
    let top = run(soldout().arg("--help"));
    assert!(
        top.contains("serve") && top.contains("demo") && top.contains("sale"),
        "{top}"
    );
    for command in [
        &["sale", "create"][..],
        &["sale", "show"],
        &["sale", "list"],
        &["store", "list"],
        &["store", "stock"],
        &["store", "sell"],
        &["transfer", "create"],
        &["transfer", "receive"],
        &["transfer", "list"],
    ] {
        let help = run(soldout().args(command).arg("--help"));
        assert!(
            help.contains("--url") && help.contains("SOLDOUT_ADMIN_TOKEN"),
            "{help}"
        );
    }
    for command in ["serve", "demo"] {
        let help = run(soldout().args([command, "--help"]));
        for flag in ["--database", "--listen", "--clock-start", "--admin-token"] {
            assert!(help.contains(flag), "{command} --help lacks {flag}: {help}");
        }
        assert!(help.contains("SOLDOUT_DATABASE"), "{help}");
    }
}

#[test]
fn an_unsupported_database_is_a_clear_error() {
    let output = soldout()
        .args(["demo", "--no-serve", "--database", "mysql://localhost/x"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("not supported")
            && stderr.contains("sqlite://PATH")
            && stderr.contains("postgres://"),
        "{stderr}"
    );
}

#[test]
fn a_report_on_a_missing_database_names_it_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("mistyped.db");
    let output = soldout()
        .args(["report", "quarter", "2017Q2", "--database"])
        .arg(format!("sqlite://{}", missing.display()))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains(&format!("there is no database at {}", missing.display())),
        "{stderr}"
    );
    assert!(!missing.exists(), "nothing was created");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn a_server_that_never_answers_is_a_timeout_that_says_which() {
    // Accepts the connection and reads nothing back: the answer never comes.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    let started = std::time::Instant::now();
    let output = soldout()
        .args([
            "sale",
            "list",
            "--admin-token",
            "x",
            "--read-timeout-secs",
            "1",
        ])
        .args(["--url", &url])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("sent nothing for 1 s (--read-timeout-secs)"),
        "{stderr}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    drop(silent);
}

#[test]
fn a_restarted_demo_goes_on_from_its_clock_and_logs_as_asked() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("logs.db").display());
    let text = soldout()
        .args(["demo", "--no-serve", "--database", &database])
        .output()
        .unwrap();
    assert!(text.status.success());
    let text = String::from_utf8(text.stderr).unwrap();
    assert!(text.contains("INFO"), "{text}");
    assert!(
        !text.contains('\u{1b}'),
        "no colour escapes off a terminal: {text:?}"
    );
    let json = soldout()
        .args([
            "demo",
            "--no-serve",
            "--log-format",
            "json",
            "--database",
            &database,
        ])
        .output()
        .unwrap();
    assert!(json.status.success());
    // Restarted on its database, the demo's clock goes on from where it stopped.
    let stdout = String::from_utf8(json.stdout).unwrap();
    assert!(
        stdout.contains("where its last run on this database stopped"),
        "{stdout}"
    );
    let json = String::from_utf8(json.stderr).unwrap();
    let lines: Vec<&str> = json.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty(), "the restart logs its sales' recovery");
    for line in lines {
        let event: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("{line:?} is not one JSON object: {e}"));
        assert!(
            event["level"].is_string() && event["fields"].is_object(),
            "{line}"
        );
    }
}
