//! The `synth-host` command line: `compile` (the same flags as `synth compile`) and `batch`
//! (many inputs at once on all cores), both running the compiler inside `synth.wasm`.

mod args;
mod outcome;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use synth_compiler::cli::{self, CompileArgs};
use synth_compiler::cli_output::{self, print};
use synth_host::{Host, HostConfig, RequestMetrics};

use args::{BatchArgs, Command, OutputMode};
use outcome::{Failure, Status, millis};

fn main() -> ExitCode {
    let command = match args::parse(std::env::args().skip(1)) {
        Ok(command) => command,
        Err(message) => {
            eprintln!("synth-host: error: {message}\n(run `synth-host --help` for usage)");
            return ExitCode::from(Status::Usage.code());
        }
    };
    let result = match command {
        Command::Help => print(args::USAGE).map_err(Failure::io),
        Command::Version => {
            print(&format!("synth-host {}\n", env!("CARGO_PKG_VERSION"))).map_err(Failure::io)
        }
        Command::Targets(config) => targets(&config),
        Command::Compile(config, compile_args, mode) => compile(&config, &compile_args, mode),
        Command::Batch(config, batch, mode) => run_batch(&config, &batch, mode),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("synth-host: error: {}", failure.message);
            ExitCode::from(failure.status.code())
        }
    }
}

fn start_host(config: &HostConfig) -> Result<Host, Failure> {
    Host::new(config).map_err(|e| Failure::new(Status::HostError, "setup", e.to_string()))
}

fn targets(config: &HostConfig) -> Result<(), Failure> {
    let host = start_host(config)?;
    let targets = host.targets().map_err(Failure::from)?;
    print(&cli::targets_table(targets.iter().map(
        |(_, name, description)| (name.as_str(), description.as_str()),
    )))
    .map_err(Failure::io)
}

/// Read a file (or stdin for `-`), refusing one larger than the host's input limit before
/// reading it.
fn read_input(host: &Host, input: &str) -> Result<Vec<u8>, Failure> {
    use std::io::Read;
    if input == "-" {
        let limit = u64::try_from(host.limits().max_input_bytes).unwrap_or(u64::MAX);
        let mut bytes = Vec::new();
        // One byte past the limit is enough to know it is exceeded.
        std::io::stdin()
            .take(limit.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| Failure::io(format!("cannot read standard input: {e}")))?;
        return Ok(bytes);
    }
    let size = std::fs::metadata(input)
        .map_err(|e| Failure::io(format!("cannot read `{input}`: {e}")))?
        .len();
    host.check_input_size(size)
        .map_err(|e| Failure::from(e).in_input(input))?;
    std::fs::read(input).map_err(|e| Failure::io(format!("cannot read `{input}`: {e}")))
}

fn compile(config: &HostConfig, args: &CompileArgs, mode: OutputMode) -> Result<(), Failure> {
    let host = start_host(config)?;
    let mut metrics = RequestMetrics::default();
    let result = read_input(&host, &args.input).and_then(|input| {
        let (output, cost) = host.compile_measured(&input, &args.options);
        metrics = cost;
        let output = output.map_err(|e| Failure::from(e).in_input(&args.input))?;
        let object_bytes = output.object.len();
        cli_output::write_outputs(args, output).map_err(Failure::io)?;
        Ok(object_bytes)
    });
    if mode.json {
        let mut files = vec![args.output.clone()];
        files.extend(args.header.iter().cloned());
        files.extend(args.report_json.iter().cloned());
        let outcome = result.as_ref().map(|_| files).map_err(Clone::clone);
        let mut record = outcome::request_json(
            Path::new(&args.input),
            &outcome,
            result.as_ref().ok().copied(),
            &metrics,
        );
        record["component_cache"] = outcome::cache_json(host.component_source());
        print(&format!("{record:#}\n")).map_err(Failure::io)?;
    }
    result.map(|_| ())
}

/// The outcome of one batch input.
struct BatchResult {
    input: PathBuf,
    metrics: RequestMetrics,
    /// The files written and the object's size.
    outcome: Result<(Vec<String>, usize), Failure>,
}

fn run_batch(config: &HostConfig, batch: &BatchArgs, mode: OutputMode) -> Result<(), Failure> {
    let inputs = args::batch_inputs(&batch.inputs).map_err(Failure::usage)?;
    std::fs::create_dir_all(&batch.out_dir)
        .map_err(|e| Failure::io(format!("cannot create `{}`: {e}", batch.out_dir.display())))?;
    let started = Instant::now();
    let host = start_host(config)?;
    let startup = started.elapsed();

    let next = AtomicUsize::new(0);
    let finished = AtomicUsize::new(0);
    let results: Mutex<Vec<BatchResult>> = Mutex::new(Vec::with_capacity(inputs.len()));
    let progress = Progress::new(inputs.len());
    let jobs = usize::try_from(batch.jobs)
        .unwrap_or(1)
        .clamp(1, inputs.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some((input, output_stem)) = inputs.get(index) else {
                        break;
                    };
                    let result = compile_one(&host, batch, input, output_stem);
                    let done = finished.fetch_add(1, Ordering::Relaxed) + 1;
                    progress.update(done, &result);
                    results
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(result);
                }
            });
        }
    });
    progress.finish();
    let mut results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results.sort_by(|a, b| a.input.cmp(&b.input));
    let times = BatchTimes {
        startup,
        wall: started.elapsed(),
        jobs,
    };
    let summary = batch_json(&results, &times, &host);
    let summary_text = format!("{summary:#}\n");
    let summary_path = batch.out_dir.join("synth-batch.json");
    cli_output::write_all_or_nothing(&[(
        &summary_path.to_string_lossy(),
        summary_text.clone().into_bytes(),
    )])
    .map_err(Failure::io)?;
    if mode.json {
        print(&summary_text).map_err(Failure::io)?;
    } else {
        print(&batch_summary(&results, &times)).map_err(Failure::io)?;
    }
    let failed: Vec<&Failure> = results
        .iter()
        .filter_map(|r| r.outcome.as_ref().err())
        .collect();
    match failed.iter().map(|f| f.status).max() {
        None => Ok(()),
        Some(worst) => Err(Failure::new(
            worst,
            worst.name(),
            format!(
                "{} of {} inputs failed (the most severe: {})",
                failed.len(),
                results.len(),
                worst.name()
            ),
        )),
    }
}

/// Compile one batch input to `OUT/STEM.o` and `OUT/STEM.h` (and `OUT/STEM.json`).
fn compile_one(host: &Host, batch: &BatchArgs, input: &Path, output_stem: &str) -> BatchResult {
    let mut metrics = RequestMetrics::default();
    let name = input.to_string_lossy();
    let outcome = read_input(host, &name).and_then(|bytes| {
        // Each input gets its own namespace (its file name), so the objects link together.
        let mut options = batch.options.clone();
        if options.module_name.is_none() {
            options.module_name = synth_compiler::cli::default_module_name(&name);
        }
        let (output, cost) = host.compile_measured(&bytes, &options);
        metrics = cost;
        let output = output.map_err(|e| Failure::from(e).in_input(&name))?;
        let path = |extension: &str| {
            batch
                .out_dir
                .join(format!("{output_stem}.{extension}"))
                .to_string_lossy()
                .into_owned()
        };
        let size = output.object.len();
        let mut files = vec![
            (path("o"), output.object),
            (path("h"), output.header.into_bytes()),
        ];
        if batch.report_json {
            files.push((path("json"), (output.report.to_json() + "\n").into_bytes()));
        }
        let refs: Vec<(&str, Vec<u8>)> = files
            .iter()
            .map(|(path, bytes)| (path.as_str(), bytes.clone()))
            .collect();
        cli_output::write_all_or_nothing(&refs).map_err(Failure::io)?;
        Ok((files.into_iter().map(|(path, _)| path).collect(), size))
    });
    BatchResult {
        input: input.to_path_buf(),
        metrics,
        outcome,
    }
}

/// One line on stderr, rewritten in place on a terminal.
struct Progress {
    total: usize,
    on_terminal: bool,
    failed: AtomicUsize,
}

impl Progress {
    fn new(total: usize) -> Self {
        Progress {
            total,
            on_terminal: std::io::stderr().is_terminal(),
            failed: AtomicUsize::new(0),
        }
    }

    fn update(&self, done: usize, result: &BatchResult) {
        if result.outcome.is_err() {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
        let failed = self.failed.load(Ordering::Relaxed);
        let line = format!(
            "[{done}/{}] {failed} failed  {}",
            self.total,
            result.input.display()
        );
        let mut stderr = std::io::stderr().lock();
        let _ = if self.on_terminal {
            write!(stderr, "\r\x1b[2K{line}")
        } else {
            writeln!(stderr, "{line}")
        };
    }

    fn finish(&self) {
        if self.on_terminal {
            eprintln!();
        }
    }
}

/// The batch as a whole.
struct BatchTimes {
    startup: Duration,
    wall: Duration,
    jobs: usize,
}

/// The machine-readable summary: every input's record, counts by status, times.
fn batch_json(results: &[BatchResult], times: &BatchTimes, host: &Host) -> serde_json::Value {
    let records: Vec<serde_json::Value> = results
        .iter()
        .map(|r| {
            let files = r.outcome.as_ref().map(|(files, _)| files.clone());
            let size = r.outcome.as_ref().ok().map(|(_, size)| *size);
            outcome::request_json(&r.input, &files.map_err(Clone::clone), size, &r.metrics)
        })
        .collect();
    let mut by_status = serde_json::Map::new();
    for status in Status::ALL {
        let count = results
            .iter()
            .filter(|r| r.outcome.as_ref().map_or_else(|f| f.status, |_| Status::Ok) == status)
            .count();
        by_status.insert(status.name().to_string(), json!(count));
    }
    json!({
        "results": records,
        "summary": {
            "inputs": results.len(),
            "by_status": by_status,
            "jobs": times.jobs,
            "max_concurrent_requests": host.max_concurrent_requests(),
            "host_start_ms": millis(times.startup),
            "wall_ms": millis(times.wall),
            "request_time_total_ms": millis(results.iter().map(|r| r.metrics.elapsed).sum()),
            "component_cache": outcome::cache_json(host.component_source()),
        },
    })
}

fn batch_summary(results: &[BatchResult], times: &BatchTimes) -> String {
    let name_width = results
        .iter()
        .map(|r| r.input.display().to_string().len())
        .max()
        .unwrap_or(0)
        .max("input".len());
    let mut text = format!(
        "{:<name_width$}  {:>10}  {:>10}  result\n",
        "input", "time ms", "object"
    );
    for result in results {
        let (size, status) = match &result.outcome {
            Ok((_, size)) => (size.to_string(), "ok".to_string()),
            Err(failure) => (
                String::new(),
                format!("{}: {}", failure.status.name(), failure.message),
            ),
        };
        text.push_str(&format!(
            "{:<name_width$}  {:>10.2}  {:>10}  {status}\n",
            result.input.display(),
            millis(result.metrics.elapsed),
            size
        ));
    }
    let ok = results.iter().filter(|r| r.outcome.is_ok()).count();
    let busy: Duration = results.iter().map(|r| r.metrics.elapsed).sum();
    text.push_str(&format!(
        "{ok} compiled, {} failed, {} jobs; host start {:.1} ms, wall {:.1} ms, \
         request time total {:.1} ms\n",
        results.len() - ok,
        times.jobs,
        millis(times.startup),
        millis(times.wall),
        millis(busy)
    ));
    text
}
