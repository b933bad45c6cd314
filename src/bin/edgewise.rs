//! `edgewise`: the native command line. The library stays free of I/O; files, stdout and exit
//! codes live here.
//!
//! ```text
//! edgewise simulate [--sessions N] [--seed S] [--out FILE]
//! edgewise help
//! ```
//! Exit codes: 0 ok, 1 the work failed (bad file, bad model), 2 bad usage.

use std::io::{BufWriter, Write};
use std::process::ExitCode;

use edgewise::sim::Simulator;

const USAGE: &str = "usage:
  edgewise simulate [--sessions N] [--seed S] [--out FILE]
      simulated storefront sessions as JSONL (one session per line; default 10000 sessions,
      seed 1, stdout); a summary goes to stderr
  edgewise help";

/// A failure with the exit code it maps to.
struct Fail {
    code: u8,
    message: String,
}

fn usage(message: impl Into<String>) -> Fail {
    Fail {
        code: 2,
        message: format!("{}\n\n{USAGE}", message.into()),
    }
}

fn failed(message: impl Into<String>) -> Fail {
    Fail {
        code: 1,
        message: message.into(),
    }
}

/// `--name value` options after the subcommand; every option must be known.
struct Opts {
    pairs: Vec<(String, String)>,
}

impl Opts {
    fn parse(args: &[String], known: &[&str]) -> Result<Opts, Fail> {
        let mut pairs = Vec::new();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let Some(name) = a.strip_prefix("--") else {
                return Err(usage(format!("unexpected argument {a:?}")));
            };
            if !known.contains(&name) {
                return Err(usage(format!(
                    "unknown option --{name} (known: {})",
                    known
                        .iter()
                        .map(|k| format!("--{k}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            let Some(v) = it.next() else {
                return Err(usage(format!("--{name} needs a value")));
            };
            pairs.push((name.to_owned(), v.clone()));
        }
        Ok(Opts { pairs })
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn num<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T, Fail> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| usage(format!("--{name} {v:?} is not a valid number"))),
        }
    }
}

fn output(path: Option<&str>) -> Result<Box<dyn Write>, Fail> {
    Ok(match path {
        None | Some("-") => Box::new(BufWriter::new(std::io::stdout().lock())),
        Some(p) => Box::new(BufWriter::new(
            std::fs::File::create(p).map_err(|e| failed(format!("cannot create {p}: {e}")))?,
        )),
    })
}

fn simulate(args: &[String]) -> Result<(), Fail> {
    let o = Opts::parse(args, &["sessions", "seed", "out"])?;
    let n: u64 = o.num("sessions", 10_000)?;
    let seed: u64 = o.num("seed", 1)?;
    if n == 0 || n > 100_000_000 {
        return Err(usage("--sessions must be between 1 and 100000000"));
    }
    let sim = Simulator::new(seed);
    let mut out = output(o.get("out"))?;
    let (mut converted, mut churned, mut events) = (0u64, 0u64, 0u64);
    for id in 0..n {
        let s = sim.session(id);
        converted += s.converted as u64;
        churned += s.churned as u64;
        events += s.events.len() as u64;
        serde_json::to_writer(&mut out, &s).map_err(|e| failed(format!("write failed: {e}")))?;
        out.write_all(b"\n")
            .map_err(|e| failed(format!("write failed: {e}")))?;
    }
    out.flush()
        .map_err(|e| failed(format!("write failed: {e}")))?;
    eprintln!(
        "simulated {n} sessions (seed {seed}): {events} events, {:.1}% converted, {:.1}% churned",
        100.0 * converted as f64 / n as f64,
        100.0 * churned as f64 / n as f64
    );
    Ok(())
}

fn run(args: &[String]) -> Result<(), Fail> {
    let Some((cmd, rest)) = args.split_first() else {
        return Err(usage("no command given"));
    };
    match cmd.as_str() {
        "simulate" => simulate(rest),
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(usage(format!("unknown command {other:?}"))),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("edgewise: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}
