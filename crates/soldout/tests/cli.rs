//! The real `soldout` binary: the demo loads once, `serve` answers and stops cleanly on
//! SIGTERM, and every command explains itself.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn soldout() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_soldout"));
    for var in [
        "SOLDOUT_DATABASE",
        "SOLDOUT_LISTEN",
        "SOLDOUT_ADMIN_TOKEN",
        "SOLDOUT_CLOCK_START",
    ] {
        command.env_remove(var);
    }
    command
}

fn run(command: &mut Command) -> String {
    let output = command.output().expect("run soldout");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        output.status.success(),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    stdout
}

#[test]
fn the_demo_loads_the_reference_data_once() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("demo.db").display());
    let first = run(soldout().args(["demo", "--no-serve", "--database", &database]));
    assert!(first.contains("Loaded the reference data set"), "{first}");
    assert!(first.contains("CN China (CNY)"), "{first}");
    assert!(first.contains("Mi 6 Plus (teased)"), "{first}");
    assert!(
        first.contains("RU Russia (RUB): Mi Mix, Mi Note 2, Redmi 4X"),
        "{first}"
    );
    assert!(
        first.contains("Mi Max 2 (teased)"),
        "India's Mi Max 2 is teased on 4 July: {first}"
    );

    let second = run(soldout().args(["demo", "--no-serve", "--database", &database]));
    assert!(second.contains("already loaded; nothing added"), "{second}");
    // The same summary, so the same stock: nothing was added twice.
    let summary = |out: &str| out.lines().skip(1).collect::<Vec<_>>().join("\n");
    assert_eq!(summary(&first), summary(&second));
}

#[test]
fn serve_answers_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("serve.db").display());
    let mut child = soldout()
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &database])
        .args(["--clock-start", "2017-07-04T09:00:00+08:00"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let token_line = lines.next().unwrap().unwrap();
    assert!(
        token_line.starts_with("admin token (generated"),
        "{token_line}"
    );
    let token = token_line.rsplit(' ').next().unwrap().to_owned();
    let listening = lines.next().unwrap().unwrap();
    let addr = listening
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .unwrap()
        .to_owned();

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let health: serde_json::Value = client
            .get(format!("http://{addr}/healthz"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(health["now"]
            .as_str()
            .unwrap()
            .starts_with("2017-07-04T01:00"));
        let markets = client
            .post(format!("http://{addr}/v1/markets"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"code": "IN", "name": "India", "currency": "INR"}))
            .send()
            .await
            .unwrap();
        assert_eq!(markets.status(), 201);
    });

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert_eq!(exit.code(), Some(0), "serve must exit 0 on SIGTERM");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest.iter().any(|l| l == "soldout stopped"), "{rest:?}");
}

#[test]
fn every_command_explains_itself() {
    let top = run(soldout().arg("--help"));
    assert!(top.contains("serve") && top.contains("demo"), "{top}");
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
    assert!(stderr.contains("not supported"), "{stderr}");
}
