//! The `synth-host` command line: `compile` (the same flags as `synth compile`) and `batch`
//! (many inputs at once on all cores), both running the compiler inside `synth.wasm`.

mod args;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use synth_compiler::cli::{self, CompileArgs};
use synth_compiler::cli_output::{self, print};
use synth_host::{Host, HostConfig, RequestError};

use args::{BatchArgs, Command};

fn main() -> ExitCode {
    let command = match args::parse(std::env::args().skip(1)) {
        Ok(command) => command,
        Err(message) => {
            eprintln!("synth-host: error: {message}\n(run `synth-host --help` for usage)");
            return ExitCode::from(2);
        }
    };
    let result = match command {
        Command::Help => print(args::USAGE),
        Command::Version => print(&format!("synth-host {}\n", env!("CARGO_PKG_VERSION"))),
        Command::Targets(config) => targets(&config),
        Command::Compile(config, compile_args) => compile(&config, &compile_args),
        Command::Batch(config, batch) => run_batch(&config, &batch),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("synth-host: error: {message}");
            ExitCode::from(1)
        }
    }
}

fn start_host(config: &HostConfig) -> Result<Host, String> {
    Host::new(config).map_err(|e| e.to_string())
}

fn targets(config: &HostConfig) -> Result<(), String> {
    let host = start_host(config)?;
    let targets = host.targets().map_err(|e| e.to_string())?;
    print(&cli::targets_table(targets.iter().map(
        |(_, name, description)| (name.as_str(), description.as_str()),
    )))
}

/// Read a file (or stdin for `-`), refusing one larger than the host's input limit before
/// reading it.
fn read_input(host: &Host, input: &str) -> Result<Vec<u8>, String> {
    use std::io::Read;
    if input == "-" {
        let limit = u64::try_from(host.limits().max_input_bytes).unwrap_or(u64::MAX);
        let mut bytes = Vec::new();
        // One byte past the limit is enough to know it is exceeded.
        std::io::stdin()
            .take(limit.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        return Ok(bytes);
    }
    let size = std::fs::metadata(input)
        .map_err(|e| format!("cannot read `{input}`: {e}"))?
        .len();
    host.check_input_size(size)
        .map_err(|e| format!("`{input}`: {e}"))?;
    std::fs::read(input).map_err(|e| format!("cannot read `{input}`: {e}"))
}

fn compile(config: &HostConfig, args: &CompileArgs) -> Result<(), String> {
    let host = start_host(config)?;
    let input = read_input(&host, &args.input)?;
    let output = host
        .compile(&input, &args.options)
        .map_err(|e| e.to_string())?;
    cli_output::write_outputs(args, output)
}

/// The outcome of one batch input.
struct BatchResult {
    input: PathBuf,
    elapsed: Duration,
    outcome: Result<usize, String>,
}

fn run_batch(config: &HostConfig, batch: &BatchArgs) -> Result<(), String> {
    let inputs = args::batch_inputs(&batch.inputs)?;
    std::fs::create_dir_all(&batch.out_dir)
        .map_err(|e| format!("cannot create `{}`: {e}", batch.out_dir.display()))?;
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
                    let request_started = Instant::now();
                    let outcome = compile_one(&host, batch, input, output_stem);
                    let result = BatchResult {
                        input: input.clone(),
                        elapsed: request_started.elapsed(),
                        outcome,
                    };
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
    print(&batch_summary(&results, startup, started.elapsed(), jobs))?;
    let failed = results.iter().filter(|r| r.outcome.is_err()).count();
    if failed > 0 {
        return Err(format!("{failed} of {} inputs failed", results.len()));
    }
    Ok(())
}

/// Compile one batch input to `OUT/STEM.o` and `OUT/STEM.h`; the object's size on success.
fn compile_one(
    host: &Host,
    batch: &BatchArgs,
    input: &Path,
    output_stem: &str,
) -> Result<usize, String> {
    let bytes = read_input(host, &input.to_string_lossy())?;
    // Each input gets its own namespace (its file name), so the objects link together.
    let mut options = batch.options.clone();
    if options.module_name.is_none() {
        options.module_name = synth_compiler::cli::default_module_name(&input.to_string_lossy());
    }
    let output = host
        .compile(&bytes, &options)
        .map_err(|e: RequestError| e.to_string())?;
    let object = batch.out_dir.join(format!("{output_stem}.o"));
    let header = batch.out_dir.join(format!("{output_stem}.h"));
    let size = output.object.len();
    cli_output::write_all_or_nothing(&[
        (&object.to_string_lossy(), output.object),
        (&header.to_string_lossy(), output.header.into_bytes()),
    ])?;
    Ok(size)
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

fn batch_summary(
    results: &[BatchResult],
    startup: Duration,
    wall: Duration,
    jobs: usize,
) -> String {
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
            Ok(size) => (size.to_string(), "ok".to_string()),
            Err(message) => (String::new(), format!("error: {message}")),
        };
        text.push_str(&format!(
            "{:<name_width$}  {:>10.2}  {:>10}  {status}\n",
            result.input.display(),
            result.elapsed.as_secs_f64() * 1000.0,
            size
        ));
    }
    let ok = results.iter().filter(|r| r.outcome.is_ok()).count();
    let busy: Duration = results.iter().map(|r| r.elapsed).sum();
    text.push_str(&format!(
        "{ok} compiled, {} failed, {jobs} jobs; host start {:.1} ms, wall {:.1} ms, \
         request time total {:.1} ms\n",
        results.len() - ok,
        startup.as_secs_f64() * 1000.0,
        wall.as_secs_f64() * 1000.0,
        busy.as_secs_f64() * 1000.0
    ));
    text
}
