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

/// Does `path` name an existing device, FIFO or socket (`-o /dev/null`)? Renaming a file over
/// it would replace the node itself, so such a target is written in place.
fn is_special(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir())
}

/// Write every file to a temporary name next to it, then rename them all, so a failure leaves
/// no partial object behind. Devices and FIFOs are written directly once every temporary file
/// has been written.
pub fn write_all_or_nothing(files: &[(&str, Vec<u8>)]) -> Result<(), String> {
    let mut written: Vec<(PathBuf, &Path)> = Vec::new();
    let mut special: Vec<(&str, &[u8])> = Vec::new();
    let cleanup = |written: &[(PathBuf, &Path)]| {
        for (temp, _) in written {
            let _ = std::fs::remove_file(temp);
        }
    };
    for (path, bytes) in files {
        let target = Path::new(path);
        if is_special(target) {
            special.push((path, bytes));
            continue;
        }
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
    for (path, bytes) in special {
        if let Err(e) = std::fs::write(path, bytes) {
            cleanup(&written);
            return Err(format!("cannot write `{path}`: {e}"));
        }
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

    #[cfg(unix)]
    #[test]
    fn a_device_is_written_in_place_not_replaced() {
        use std::os::unix::fs::FileTypeExt;
        // Through a link to /dev/null, so a regression replaces the link, not the device.
        let dir = scratch("device");
        let null = dir.join("null");
        std::os::unix::fs::symlink("/dev/null", &null).unwrap();
        let object = dir.join("x.o");
        let files = [
            (null.to_str().unwrap(), b"obj".to_vec()),
            (object.to_str().unwrap(), b"hdr".to_vec()),
        ];
        write_all_or_nothing(&files).unwrap();
        let kind = std::fs::metadata(&null).unwrap().file_type();
        assert!(kind.is_char_device(), "the device was replaced by a file");
        assert_eq!(std::fs::read(&object).unwrap(), b"hdr");
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
