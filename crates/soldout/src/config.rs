//! `--config FILE` (or `SOLDOUT_CONFIG`): a TOML file of `serve`'s settings keyed by
//! the flags' long names (`listen = "127.0.0.1:8080"`, `connections-max = 10000`).
//! Flags win over environment variables, which win over the file, which wins over the
//! defaults: the file is read before the command line is parsed, and each of its
//! settings fills the setting's `SOLDOUT_*` variable where the environment leaves it
//! unset. An unknown key or a bad value is an error naming the file and the key.
//! `soldout config check` prints what is in effect and where each value came from.

use anyhow::Context;
use clap::parser::ValueSource;
use clap::{ArgMatches, Command};
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::PathBuf;

/// The settings a config file gave.
#[derive(Debug, Default)]
pub struct FromFile {
    pub path: Option<PathBuf>,
    /// The keys whose values came from the file.
    pub keys: BTreeSet<String>,
}

/// Settings whose values are never printed.
const SECRETS: [&str; 3] = ["admin-token", "token-key", "payment-secret"];

/// The file `args` (or `SOLDOUT_CONFIG`) names.
fn named_file(args: &[OsString]) -> Option<PathBuf> {
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let arg = arg.to_string_lossy();
        if arg == "--" {
            break;
        }
        if arg == "--config" {
            return args.next().map(PathBuf::from);
        }
        if let Some(path) = arg.strip_prefix("--config=") {
            return Some(PathBuf::from(path));
        }
    }
    std::env::var_os("SOLDOUT_CONFIG")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The settings a file may hold: `serve`'s options and the global ones, by long name.
fn settings_of(cli: &Command) -> Vec<clap::Arg> {
    let serve = cli
        .get_subcommands()
        .find(|c| c.get_name() == "serve")
        .expect("soldout has a serve command");
    cli.get_arguments()
        .chain(serve.get_arguments())
        .filter(|a| {
            a.get_long()
                .is_some_and(|l| !matches!(l, "config" | "help" | "version"))
        })
        .cloned()
        .collect()
}

/// Reads the config file `args` names, if any, into the environment (where it is
/// unset) before `cli` parses `args`. Call it before any thread starts.
pub fn load_into_env(cli: &Command, args: &[OsString]) -> anyhow::Result<FromFile> {
    let Some(path) = named_file(args) else {
        return Ok(FromFile::default());
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading the config file {}", path.display()))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e| anyhow::anyhow!("the config file {}: {e}", path.display()))?;
    let settings = settings_of(cli);
    let mut keys = BTreeSet::new();
    for (key, value) in table {
        let in_file = || format!("the config file {}: `{key}`", path.display());
        let Some(arg) = settings.iter().find(|a| a.get_long() == Some(key.as_str())) else {
            let known: Vec<&str> = settings.iter().filter_map(|a| a.get_long()).collect();
            let hint = if key.contains('_') && known.contains(&key.replace('_', "-").as_str()) {
                format!(" (did you mean `{}`?)", key.replace('_', "-"))
            } else {
                String::new()
            };
            anyhow::bail!(
                "{}: no such setting{hint}; the keys are serve's flags' names: {}",
                in_file(),
                known.join(", ")
            );
        };
        let value = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Datetime(d) => d.to_string(),
            toml::Value::Array(_) | toml::Value::Table(_) => {
                anyhow::bail!("{}: takes one value, not a list or a table", in_file())
            }
        };
        // The value's own check, as the flag would make it.
        Command::new("soldout")
            .no_binary_name(true)
            .arg(arg.clone().env(None::<&str>))
            .try_get_matches_from([format!("--{key}={value}")])
            .map_err(|e| {
                let message = e.to_string();
                let first = message.lines().next().unwrap_or_default();
                anyhow::anyhow!("{}: {}", in_file(), first.trim_start_matches("error: "))
            })?;
        let env = arg
            .get_env()
            .expect("every setting has its SOLDOUT_* variable");
        if std::env::var_os(env).is_none() {
            // SAFETY of the process: this runs before any thread is started.
            std::env::set_var(env, &value);
            keys.insert(key);
        }
    }
    Ok(FromFile {
        path: Some(path),
        keys,
    })
}

/// The settings in effect for `check` (the parsed `config check`), one line each:
/// its key, its value (secrets masked) and where it came from.
pub fn effective(cli: &Command, check: &ArgMatches, from_file: &FromFile) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(path) = &from_file.path {
        lines.push(format!("# config file: {}", path.display()));
    }
    for arg in settings_of(cli) {
        let key = arg.get_long().expect("settings have long names");
        let id = arg.get_id().as_str();
        let Ok(Some(values)) = check.try_get_raw(id) else {
            lines.push(format!("# {key} is unset"));
            continue;
        };
        let value: Vec<String> = values.map(|v| v.to_string_lossy().into_owned()).collect();
        let value = if SECRETS.contains(&key) {
            "\"********\"".to_owned()
        } else {
            toml::Value::String(value.join(",")).to_string()
        };
        let source = match check.value_source(id) {
            Some(ValueSource::CommandLine) => "flag".to_owned(),
            Some(ValueSource::EnvVariable) if from_file.keys.contains(key) => "file".to_owned(),
            Some(ValueSource::EnvVariable) => {
                format!(
                    "env {}",
                    arg.get_env().unwrap_or_default().to_string_lossy()
                )
            }
            _ => "default".to_owned(),
        };
        lines.push(format!("{key} = {value}  # {source}"));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_is_named_by_the_flag_before_the_environment() {
        let args: Vec<OsString> = ["soldout", "serve", "--config=/etc/a.toml"]
            .map(OsString::from)
            .into();
        assert_eq!(named_file(&args), Some(PathBuf::from("/etc/a.toml")));
        let args: Vec<OsString> = ["soldout", "serve", "--config", "b.toml"]
            .map(OsString::from)
            .into();
        assert_eq!(named_file(&args), Some(PathBuf::from("b.toml")));
    }
}
