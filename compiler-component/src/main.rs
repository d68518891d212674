//! The `synth` command-line tool: argument parsing lives in `synth_compiler::cli`, compilation
//! in the library; this file only does the I/O.

use std::io::Read;
use std::process::ExitCode;

use synth_compiler::Options;
use synth_compiler::cli::{self, Command, CompileArgs};
use synth_compiler::cli_output::{self, print};

// In synth.wasm the same `main` is `wasi:cli/run`; this adds the typed `compile` export.
#[cfg(target_arch = "wasm32")]
mod component;

/// Options the environment sets rather than a flag: (variable, how its value sets the options).
/// Every environment read of the CLI goes through `apply_environment`, so a new `SYNTH_*`
/// variable is one line here; under `wasmtime run` they arrive with `--env NAME=VALUE`.
type EnvironmentSetter = fn(&mut Options, &str) -> Result<(), String>;
const ENVIRONMENT_OPTIONS: &[(&str, EnvironmentSetter)] = &[(
    cli::SPILL_REALLOC_VARIABLE,
    cli::apply_spill_realloc_variable,
)];

fn apply_environment(options: &mut Options) -> Result<(), String> {
    for (name, set) in ENVIRONMENT_OPTIONS {
        if let Some(value) = std::env::var_os(name) {
            let value = value
                .into_string()
                .map_err(|_| format!("{name} is not valid UTF-8"))?;
            set(options, &value).map_err(|e| format!("{name}={value}: {e}"))?;
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let command = match cli::parse_args(std::env::args().skip(1)) {
        Ok(command) => command,
        Err(e) => {
            eprintln!("synth: error: {e}\n(run `synth --help` for usage)");
            return ExitCode::from(2);
        }
    };
    let result = match command {
        Command::Help => print(cli::USAGE),
        Command::Version => print(&format!("synth {}\n", env!("CARGO_PKG_VERSION"))),
        Command::Targets => print(&cli::targets_text()),
        Command::Compile(args) => compile(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("synth: error: {message}");
            ExitCode::from(1)
        }
    }
}

fn read_input(input: &str) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    if input == "-" {
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
    } else {
        bytes = std::fs::read(input).map_err(|e| format!("cannot read `{input}`: {e}"))?;
    }
    Ok(bytes)
}

fn compile(args: &CompileArgs) -> Result<(), String> {
    let mut options = args.options.clone();
    apply_environment(&mut options)?;
    let input = read_input(&args.input)?;
    let name = if args.input == "-" {
        "<stdin>"
    } else {
        &args.input
    };
    let output = synth_compiler::compile(&input, &options).map_err(|e| format!("{name}: {e}"))?;
    cli_output::write_outputs(args, output)
}
