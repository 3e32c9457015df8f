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
