//! Writing the results of `compile` to files and standard output: shared by the `synth` CLI
//! and `synth-host` so both deliver the same files the same way. The only I/O in the library;
//! [`crate::compile`] never calls it.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::Output;
use crate::cli::CompileArgs;

/// Writes what the compile command asked for: the object, the header and a JSON report go to
/// their files (all of them or none), then the text report and a JSON report for `-` go to
/// standard output.
pub fn write_outputs(args: &CompileArgs, output: Output) -> Result<(), String> {
    let mut files: Vec<(&str, Vec<u8>)> = vec![(args.output.as_str(), output.object)];
    if let Some(header) = &args.header {
        files.push((header, output.header.into_bytes()));
    }
    let json = args
        .report_json
        .as_ref()
        .map(|_| output.report.to_json() + "\n");
    if let (Some(path), Some(json)) = (&args.report_json, &json)
        && path != "-"
    {
        files.push((path, json.clone().into_bytes()));
    }
    let warning = ram_warning(args, &output.report);
    write_all_or_nothing(&files)?;
    if let Some(warning) = warning {
        eprintln!("synth: warning: {warning}");
    }

    if args.report || args.listing {
        print(&output.report.to_text(args.listing))?;
    }
    if let (Some(path), Some(json)) = (&args.report_json, &json)
        && path == "-"
    {
        print(json)?;
    }
    Ok(())
}

/// The warning `--ram-limit` asks for, when the module's RAM exceeds it.
pub fn ram_warning(args: &CompileArgs, report: &crate::Report) -> Option<String> {
    let limit = args.ram_limit?;
    let f = &report.footprint;
    (f.ram() > limit).then(|| {
        format!(
            "`{}` needs {} bytes of RAM (.data {}, .bss {}: the linear memory), more than \
             --ram-limit {limit}; lower --max-memory-pages or declare a smaller memory maximum",
            args.input,
            f.ram(),
            f.data,
            f.bss
        )
    })
}

/// Writes `text` to standard output.
pub fn print(text: &str) -> Result<(), String> {
    std::io::stdout()
        .write_all(text.as_bytes())
        .map_err(|e| format!("cannot write to standard output: {e}"))
}

/// A temporary-file suffix no other synth run writing next to the same file uses at once.
fn temp_suffix() -> String {
    #[cfg(not(target_arch = "wasm32"))]
    let id = std::process::id().to_string();
    // WASI has no process ids (`process::id` panics there); the wall clock's nanoseconds do.
    #[cfg(target_arch = "wasm32")]
    let id = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
        .to_string();
    format!(".synth-{id}.tmp")
}

/// Write every file to a temporary name next to it, then rename them all, so a failure leaves
/// no partial object behind.
pub fn write_all_or_nothing(files: &[(&str, Vec<u8>)]) -> Result<(), String> {
    let mut written: Vec<(PathBuf, &Path)> = Vec::new();
    let cleanup = |written: &[(PathBuf, &Path)]| {
        for (temp, _) in written {
            let _ = std::fs::remove_file(temp);
        }
    };
    for (path, bytes) in files {
        let target = Path::new(path);
        let mut temp_name = target.file_name().unwrap_or_default().to_os_string();
        temp_name.push(temp_suffix());
        let temp = target.with_file_name(temp_name);
        if let Err(e) = std::fs::write(&temp, bytes) {
            let _ = std::fs::remove_file(&temp);
            cleanup(&written);
            return Err(format!("cannot write `{path}`: {e}"));
        }
        written.push((temp, target));
    }
    for (i, (temp, target)) in written.iter().enumerate() {
        if let Err(e) = std::fs::rename(temp, target) {
            cleanup(&written[i..]);
            return Err(format!("cannot write `{}`: {e}", target.display()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::write_all_or_nothing;

    fn scratch(test: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("synth-cli-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create scratch directory");
        dir
    }

    #[test]
    fn writes_every_file_and_leaves_no_temporaries() {
        let dir = scratch("ok");
        let object = dir.join("x.o");
        let header = dir.join("x.h");
        let files = [
            (object.to_str().unwrap(), b"obj".to_vec()),
            (header.to_str().unwrap(), b"hdr".to_vec()),
        ];
        write_all_or_nothing(&files).unwrap();
        assert_eq!(std::fs::read(&object).unwrap(), b"obj");
        assert_eq!(std::fs::read(&header).unwrap(), b"hdr");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2);
    }

    #[test]
    fn a_failing_file_leaves_nothing_behind() {
        let dir = scratch("fail");
        let object = dir.join("x.o");
        let unwritable = dir.join("missing-dir").join("x.h");
        let files = [
            (object.to_str().unwrap(), b"obj".to_vec()),
            (unwritable.to_str().unwrap(), b"hdr".to_vec()),
        ];
        let err = write_all_or_nothing(&files).unwrap_err();
        assert!(err.contains("missing-dir"), "{err}");
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            0,
            "partial output left"
        );
    }
}
