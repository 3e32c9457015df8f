//! The real `soldout` binary: the demo loads once and says what the company said (the
//! reference statements), imports are all or nothing, `serve` answers and stops
//! cleanly on SIGTERM, operators run sales from the command line, and every command
//! explains itself. The tests that touch a database are in `cli/suite.rs`, run here on
//! SQLite and by `cli_postgres.rs` on PostgreSQL.

include!("cli/suite.rs");

/// Runs `command`, which must fail; returns what it said on standard error.
fn refused(command: &mut Command) -> String {
    let output = command.output().expect("run soldout");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(!output.status.success(), "it should have failed: {stderr}");
    stderr
}

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
    let stderr =
        refused(soldout().args(["demo", "--no-serve", "--database", "mysql://localhost/x"]));
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
    let stderr = refused(
        soldout()
            .args(["report", "quarter", "2017Q2", "--database"])
            .arg(format!("sqlite://{}", missing.display())),
    );
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

/// Starts `soldout serve` on `database`; returns the child, its first stdout line and
/// its address.
fn start_serving(database: &str) -> (std::process::Child, String, String) {
    start_serving_with(database, |command| {
        command.stderr(std::process::Stdio::null());
    })
}

/// As [`start_serving`], with `configure` adding to the command (flags, environment,
/// where its standard error goes).
fn start_serving_with(
    database: &str,
    configure: impl FnOnce(&mut std::process::Command),
) -> (std::process::Child, String, String) {
    use std::io::BufRead;
    let mut command = soldout();
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--database", database])
        .stdout(std::process::Stdio::piped());
    configure(&mut command);
    let mut child = command.spawn().unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let listening = if first.starts_with("soldout listening") {
        first.clone()
    } else {
        lines.next().unwrap().unwrap()
    };
    let addr = listening_addr(&listening);
    // The rest of its output is not read: let it drain.
    std::thread::spawn(move || lines.for_each(drop));
    (child, first, addr)
}

fn sales_status(addr: &str, token: &str) -> u16 {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        reqwest::Client::new()
            .get(format!("http://{addr}/v1/sales"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    })
}

fn stop(mut child: std::process::Child) {
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

#[test]
fn the_first_start_makes_the_admin_token_later_ones_keep_it_and_rotation_replaces_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("admin.db");
    let database = format!("sqlite://{}", path.display());
    let (server, first, addr) = start_serving(&database);
    assert!(first.starts_with("admin token: "), "{first}");
    let token = first.rsplit(' ').next().unwrap().to_owned();
    assert_eq!(sales_status(&addr, &token), 200);
    stop(server);
    // The database keeps the digest, not the token.
    let file = std::fs::read(&path).unwrap();
    assert!(
        !file.windows(token.len()).any(|w| w == token.as_bytes()),
        "the token itself is not in the database"
    );

    let (server, first, addr) = start_serving(&database);
    assert!(
        first.starts_with("soldout listening"),
        "no new token: {first}"
    );
    assert_eq!(
        sales_status(&addr, &token),
        200,
        "the same token still works"
    );

    let rotated = run(soldout().args(["admin-token", "rotate", "--database", &database]));
    let new = rotated.trim().rsplit(' ').next().unwrap().to_owned();
    assert!(
        rotated.starts_with("admin token: ") && new != token,
        "{rotated}"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while sales_status(&addr, &token) != 401 {
        assert!(
            std::time::Instant::now() < deadline,
            "the old token is refused within 5 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(sales_status(&addr, &new), 200);
    stop(server);
}

#[test]
fn each_request_is_logged_once_with_its_id_and_never_with_its_token() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("access.db").display());
    let log_path = dir.path().join("server.log");
    let token = "admin-token-that-must-not-be-logged";
    let log_file = std::fs::File::create(&log_path).unwrap();
    let (child, _, addr) = start_serving_with(&database, |command| {
        command
            .args(["--log-format", "json", "--admin-token", token])
            .stderr(log_file);
    });
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (kept, made) = runtime.block_on(async {
        let client = reqwest::Client::new();
        let kept = client
            .get(format!("http://{addr}/v1/sales"))
            .bearer_auth(token)
            .header("x-request-id", "cli-access-42")
            .header("cookie", "soldout_session=cookie-that-must-not-be-logged")
            .send()
            .await
            .unwrap();
        let made = client
            .get(format!("http://{addr}/v1/sales/999"))
            .bearer_auth(token)
            .header("x-request-id", "not well formed!")
            .send()
            .await
            .unwrap();
        let header =
            |r: &reqwest::Response| r.headers()["x-request-id"].to_str().unwrap().to_owned();
        (header(&kept), header(&made))
    });
    assert_eq!(kept, "cli-access-42");
    assert_ne!(made, "not well formed!");
    stop(child);
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        !log.contains(token) && !log.contains("cookie-that-must-not-be-logged"),
        "{log}"
    );
    let access: Vec<serde_json::Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["target"] == "soldout::access")
        .collect();
    let of = |id: &str| -> Vec<&serde_json::Value> {
        access
            .iter()
            .filter(|e| e["span"]["request_id"] == id)
            .collect()
    };
    let kept_events = of("cli-access-42");
    assert_eq!(kept_events.len(), 1, "one event per request: {log}");
    let event = kept_events[0];
    assert_eq!(event["span"]["method"], "GET");
    assert_eq!(event["span"]["route"], "/v1/sales");
    assert_eq!(event["fields"]["status"], 200);
    assert!(event["fields"]["latency_ms"].as_f64().unwrap() >= 0.0);
    let made_events = of(&made);
    assert_eq!(made_events.len(), 1, "{log}");
    assert_eq!(made_events[0]["span"]["route"], "/v1/sales/{id}");
    assert_eq!(made_events[0]["fields"]["status"], 404);
}

#[test]
fn a_config_file_sits_between_the_environment_and_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("soldout.toml");
    std::fs::write(
        &file,
        "listen = \"127.0.0.1:9911\"\nconnections-max = 500\nidle-timeout-secs = 7\nadmin-token = \"kept-secret-1\"\n",
    )
    .unwrap();
    let check = |envs: &[(&str, &str)], flags: &[&str]| {
        let mut command = soldout();
        command
            .args(["config", "check", "--config"])
            .arg(&file)
            .args(flags);
        for (k, v) in envs {
            command.env(k, v);
        }
        command.output().unwrap()
    };
    let output = check(
        &[("SOLDOUT_CONNECTIONS_MAX", "700")],
        &["--idle-timeout-secs", "5"],
    );
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    for line in [
        "listen = \"127.0.0.1:9911\"  # file",
        "connections-max = \"700\"  # env SOLDOUT_CONNECTIONS_MAX",
        "idle-timeout-secs = \"5\"  # flag",
        "write-timeout-secs = \"30\"  # default",
        "admin-token = \"********\"  # file",
    ] {
        assert!(text.lines().any(|l| l == line), "no {line:?} in\n{text}");
    }
    assert!(!text.contains("kept-secret-1"), "{text}");

    for (content, named) in [
        (
            "connections_max = 3\n",
            "`connections_max`: no such setting (did you mean `connections-max`?)",
        ),
        (
            "connections-max = \"lots\"\n",
            "`connections-max`: invalid value 'lots'",
        ),
        ("listen = [1]\n", "`listen`: takes one value"),
    ] {
        std::fs::write(&file, content).unwrap();
        for command in [&["config", "check"][..], &["serve"]] {
            let stderr = refused(soldout().args(command).arg("--config").arg(&file));
            assert!(
                stderr.contains(named) && stderr.contains("soldout.toml"),
                "{stderr}"
            );
        }
    }
    // A bad value in the settings' own rules (not the flag's) fails the check too.
    std::fs::write(&file, "public-url = \"ftp://shop\"\n").unwrap();
    let output = soldout()
        .args(["config", "check", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!output.status.success());
}

#[test]
fn secrets_come_from_files_as_credentials_pass_them() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("admin-token");
    std::fs::write(&secret, "token-from-a-file\n").unwrap();
    let database = format!("sqlite://{}", dir.path().join("secrets.db").display());
    let (child, first, addr) = start_serving_with(&database, |command| {
        command
            .env("SOLDOUT_ADMIN_TOKEN_FILE", &secret)
            .stderr(std::process::Stdio::null());
    });
    assert!(
        first.starts_with("soldout listening"),
        "no token made: {first}"
    );
    assert_eq!(sales_status(&addr, "token-from-a-file"), 200);
    assert_eq!(sales_status(&addr, "token-from-a-fil"), 401);
    stop(child);
    std::fs::write(&secret, "").unwrap();
    let stderr = refused(
        soldout()
            .args(["config", "check", "--admin-token-file"])
            .arg(&secret),
    );
    assert!(stderr.contains("is empty"), "{stderr}");
}

#[test]
fn completions_and_the_manual_page_are_printed() {
    let bash = run(soldout().args(["completions", "bash"]));
    assert!(
        bash.contains("_soldout()") && bash.contains("serve"),
        "{bash}"
    );
    let man = run(soldout().arg("man"));
    assert!(
        man.contains(".TH soldout 1") && man.contains("serve"),
        "{man}"
    );
}

#[test]
fn a_backup_taken_while_serving_serves_the_same_data() {
    let dir = tempfile::tempdir().unwrap();
    let original = format!("sqlite://{}", dir.path().join("live.db").display());
    assert!(soldout()
        .args(["demo", "--no-serve", "--database", &original])
        .output()
        .unwrap()
        .status
        .success());
    let token = "backup-test-admin";
    let sales = |addr: &str| -> String {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let client = reqwest::Client::new();
            let mut seen = String::new();
            for path in [
                "/v1/sales",
                "/v1/products",
                "/v1/locations/wh-in-sricity/stock",
            ] {
                let body = client
                    .get(format!("http://{addr}{path}"))
                    .bearer_auth(token)
                    .send()
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap();
                seen.push_str(&body);
            }
            seen
        })
    };
    let with_token = |command: &mut std::process::Command| {
        command
            .args(["--admin-token", token])
            .stderr(std::process::Stdio::null());
    };
    let (server, _, addr) = start_serving_with(&original, with_token);
    let before = sales(&addr);
    assert!(before.contains("RN4-3-32-GLD"), "{before}");
    let copy = dir.path().join("copy.db");
    let backed = run(soldout()
        .args(["backup", "--database", &original, "--to"])
        .arg(&copy));
    assert!(backed.contains("backed up to"), "{backed}");
    let again = refused(
        soldout()
            .args(["backup", "--database", &original, "--to"])
            .arg(&copy),
    );
    assert!(
        again.contains("exists already"),
        "a backup never overwrites a file: {again}"
    );
    stop(server);
    let (server, _, addr) = start_serving_with(&format!("sqlite://{}", copy.display()), with_token);
    assert_eq!(sales(&addr), before);
    stop(server);
    let postgres = refused(
        soldout()
            .args(["backup", "--database", "postgres://u@127.0.0.1:1/x", "--to"])
            .arg(dir.path().join("pg.db")),
    );
    assert!(postgres.contains("pg_dump"), "{postgres}");
}

/// The README's block of report and import commands runs as written, on a fresh demo
/// database, with the sample files shipped under `examples/`.
#[test]
fn the_readmes_report_and_import_examples_run_as_written() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let block = readme
        .split("```sh\n")
        .find(|b| b.starts_with("D=\"--database sqlite://soldout-demo.db\""))
        .and_then(|b| b.split("```").next())
        .expect("the README has the reports' block");
    let dir = tempfile::tempdir().unwrap();
    let examples = dir.path().join("examples");
    std::fs::create_dir(&examples).unwrap();
    for file in std::fs::read_dir(root.join("examples")).unwrap() {
        let file = file.unwrap();
        std::fs::copy(file.path(), examples.join(file.file_name())).unwrap();
    }
    let database = format!("sqlite://{}", dir.path().join("soldout-demo.db").display());
    assert!(soldout()
        .args(["demo", "--no-serve", "--database", &database])
        .output()
        .unwrap()
        .status
        .success());
    let mut ran = 0;
    for line in block
        .lines()
        .filter(|l| l.starts_with("cargo run --release -- "))
    {
        let command = line.split(" #").next().unwrap();
        let args: Vec<String> = command
            .trim_start_matches("cargo run --release -- ")
            .split_whitespace()
            .flat_map(|word| match word {
                "$D" => vec!["--database".to_owned(), database.clone()],
                other => vec![other.to_owned()],
            })
            .collect();
        let output = soldout()
            .args(&args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{line}\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        ran += 1;
    }
    assert!(ran >= 9, "{ran} commands in the block");
    assert!(dir.path().join("share.svg").exists() && dir.path().join("trend.svg").exists());
}

/// Every command, argument and option of the binary has help text: walked through
/// `--help` of each command, every listed argument has words beside it.
#[test]
fn every_argument_and_option_has_help() {
    fn walk(path: Vec<String>, missing: &mut Vec<String>) {
        let help = run(soldout().args(&path).arg("--help"));
        let mut section = "";
        let lines: Vec<&str> = help.lines().collect();
        for (i, line) in lines.iter().copied().enumerate() {
            if !line.starts_with(' ') && line.ends_with(':') {
                section = line;
                continue;
            }
            let trimmed = line.trim_start();
            let indent = line.len() - trimmed.len();
            let item = match section {
                "Commands:" => indent == 2,
                "Options:" | "Arguments:" => {
                    indent <= 6
                        && (trimmed.starts_with('-')
                            || trimmed.starts_with('<')
                            || trimmed.starts_with('['))
                }
                _ => false,
            };
            if !item {
                continue;
            }
            // The help is beside the item, or on the next line further in (clap wraps).
            let wrapped = lines.get(i + 1).is_some_and(|next| {
                let words = next.trim_start();
                next.len() - words.len() > indent + 2 && !words.is_empty()
            });
            let has_words =
                wrapped || trimmed.split("  ").filter(|s| !s.trim().is_empty()).count() >= 2;
            if section == "Commands:" {
                let name = trimmed.split_whitespace().next().unwrap().to_owned();
                if name != "help" {
                    if !has_words {
                        missing.push(format!("{} {name}", path.join(" ")));
                    }
                    let mut deeper = path.clone();
                    deeper.push(name);
                    walk(deeper, missing);
                }
            } else if (section == "Options:" || section == "Arguments:") && !has_words {
                missing.push(format!("{}: {trimmed}", path.join(" ")));
            }
        }
    }
    let mut missing = Vec::new();
    walk(Vec::new(), &mut missing);
    assert!(missing.is_empty(), "without help: {missing:#?}");
}
