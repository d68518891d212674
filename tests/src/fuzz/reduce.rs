//! Minimisation of a failing module with `wasm-shrink`, and the fixture it becomes.

use std::path::{Path, PathBuf};

use super::run::{Finding, ModuleOutcome, RunOptions, run_vectors};
use crate::ModuleInfo;
use crate::providers::Provider;
use crate::vectors::Vector;

/// The vectors to try on a candidate: those `module_vectors` draws, plus the failing vector of
/// the original when the candidate still has that function with the same parameters.
fn candidate_vectors(
    info: &ModuleInfo,
    seed: u64,
    finding: &Finding,
    options: &RunOptions,
) -> Vec<Vector> {
    let mut vectors = Vec::new();
    if let Some(vector) = &finding.vector
        && let Ok(export) = info.export(&vector.function)
        && export.sig.params.len() == vector.args.len()
        && export
            .sig
            .params
            .iter()
            .zip(&vector.args)
            .all(|(t, a)| a.ty() == *t)
    {
        vectors.push(vector.clone());
    }
    vectors.extend(super::module_vectors(
        info,
        seed,
        options.edge_vectors,
        options.random_vectors,
    ));
    vectors
}

/// Does `wasm` still show a bug of `finding`'s class on its target and variant?
fn reproduces(
    wasm: &[u8],
    providers: &[Provider],
    seed: u64,
    finding: &Finding,
    options: &RunOptions,
) -> Option<ModuleOutcome> {
    let info = crate::providers::importer_info(wasm, providers).ok()?;
    let vectors = candidate_vectors(&info, seed, finding, options);
    let mut outcome = ModuleOutcome::default();
    run_vectors(wasm, providers, &info, &vectors, options, &mut outcome);
    let found = outcome.bugs().any(|f| f.class == finding.class);
    found.then_some(outcome)
}

/// Options restricted to the finding's target and variant.
fn narrowed(finding: &Finding, options: &RunOptions) -> RunOptions {
    RunOptions {
        targets: vec![finding.target],
        variants: vec![finding.variant],
        ..options.clone()
    }
}

/// A reduced module and the vectors that show the bug in it.
pub struct Reduced {
    pub wasm: Vec<u8>,
    /// The modules it is linked with, unreduced (module name, wasm).
    pub providers: Vec<Provider>,
    pub vectors: Vec<Vector>,
    pub original_size: usize,
}

/// Shrink `wasm` (linked with `providers`, which stay as they are) while it still shows a bug
/// of `finding`'s class (`attempts` candidates tried without progress before stopping).
pub fn reduce(
    wasm: &[u8],
    providers: &[Provider],
    seed: u64,
    finding: &Finding,
    options: &RunOptions,
    attempts: u32,
) -> Result<Reduced, String> {
    let options = narrowed(finding, options);
    if reproduces(wasm, providers, seed, finding, &options).is_none() {
        return Err(format!("{finding} does not reproduce on its own"));
    }
    let info = wasm_shrink::WasmShrink::default()
        .attempts(attempts)
        .seed(seed)
        .run(wasm.to_vec(), |candidate| {
            Ok(reproduces(candidate, providers, seed, finding, &options).is_some())
        })
        .map_err(|e| format!("wasm-shrink: {e}"))?;
    let outcome = reproduces(&info.output, providers, seed, finding, &options)
        .ok_or("the reduced module does not reproduce")?;
    let mut vectors: Vec<Vector> = outcome
        .bugs()
        .filter(|f| f.class == finding.class)
        .filter_map(|f| f.vector.clone())
        .collect();
    vectors.dedup();
    if vectors.is_empty() {
        // A compile or link failure: any call of the module will do.
        let info =
            crate::providers::importer_info(&info.output, providers).map_err(|e| e.message)?;
        vectors = candidate_vectors(&info, seed, finding, &options);
        vectors.truncate(1);
    }
    vectors.truncate(16);
    Ok(Reduced {
        wasm: info.output,
        providers: providers.to_vec(),
        vectors,
        original_size: wasm.len(),
    })
}

/// Write `NAME.wat` and `NAME.vectors` into `dir` (e.g. fixtures/), with a header comment, and
/// each provider as `dir/lib/MODULE.wat`, where the differential test looks for it.
pub fn write_fixture(
    dir: &Path,
    name: &str,
    reduced: &Reduced,
    comment: &str,
) -> Result<PathBuf, String> {
    let text = wasmprinter::print_bytes(&reduced.wasm).map_err(|e| format!("wasmprinter: {e}"))?;
    let mut wat = String::new();
    for line in comment.lines() {
        wat.push_str(&format!(";; {line}\n"));
    }
    wat.push_str(&text);
    if !wat.ends_with('\n') {
        wat.push('\n');
    }
    let path = dir.join(format!("{name}.wat"));
    std::fs::write(&path, wat).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut vectors = String::new();
    for line in comment.lines() {
        vectors.push_str(&format!("# {line}\n"));
    }
    vectors.push_str(&super::vectors_file(&reduced.vectors));
    for (module, wasm) in &reduced.providers {
        let text = wasmprinter::print_bytes(wasm).map_err(|e| format!("wasmprinter: {e}"))?;
        let lib = dir.join("lib");
        std::fs::create_dir_all(&lib).map_err(|e| format!("{}: {e}", lib.display()))?;
        let path = lib.join(format!("{module}.wat"));
        let header = format!(";; The module {name}.wat imports from (module name `{module}`).\n");
        std::fs::write(&path, header + &text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let vectors_path = dir.join(format!("{name}.vectors"));
    std::fs::write(&vectors_path, vectors)
        .map_err(|e| format!("{}: {e}", vectors_path.display()))?;
    Ok(path)
}
