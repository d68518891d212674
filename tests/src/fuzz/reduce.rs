//! Minimisation of a failing module with `wasm-shrink`, and the fixture it becomes.

use std::path::{Path, PathBuf};

use super::run::{Finding, ModuleOutcome, RunOptions, run_vectors};
use crate::ModuleInfo;
use crate::providers::Provider;
use crate::vectors::Vector;

/// The vectors to try on a candidate: those `module_vectors` draws, plus the failing vector of
/// the original when the candidate (or its provider) still has that function with the same
/// parameters.
fn candidate_vectors(
    info: &ModuleInfo,
    provider_infos: &[(String, ModuleInfo)],
    seed: u64,
    finding: &Finding,
    options: &RunOptions,
) -> Vec<Vector> {
    let mut vectors = Vec::new();
    if let Some(vector) = &finding.vector {
        let owner = match &vector.module {
            None => Some(info),
            Some(module) => provider_infos
                .iter()
                .find(|(name, _)| name == module)
                .map(|(_, info)| info),
        };
        if let Some(export) = owner.and_then(|info| info.export(&vector.function).ok())
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
    }
    vectors.extend(super::module_vectors(
        info,
        provider_infos,
        seed,
        options.edge_vectors,
        options.random_vectors,
    ));
    vectors
}

/// Does `wasm` with `providers` still show a bug of `finding`'s class on its target and
/// variant? The outcome and the vectors tried.
fn reproduces(
    wasm: &[u8],
    providers: &[Provider],
    seed: u64,
    finding: &Finding,
    options: &RunOptions,
) -> Option<(ModuleOutcome, Vec<Vector>)> {
    let info = crate::providers::importer_info(wasm, providers).ok()?;
    let provider_infos = crate::providers::provider_infos(providers).ok()?;
    let vectors = candidate_vectors(&info, &provider_infos, seed, finding, options);
    let mut outcome = ModuleOutcome::default();
    run_vectors(wasm, providers, &info, &vectors, options, &mut outcome);
    let found = outcome.bugs().any(|f| f.class == finding.class);
    found.then_some((outcome, vectors))
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
    /// The modules it is linked with, reduced too (module name, wasm).
    pub providers: Vec<Provider>,
    pub vectors: Vec<Vector>,
    pub original_size: usize,
    /// The providers' sizes before reduction, in `providers` order.
    pub original_provider_sizes: Vec<usize>,
}

/// Shrink `wasm` (linked with `providers`) while it still shows a bug of `finding`'s class,
/// then each provider in turn with the reduced module (`attempts` candidates tried without
/// progress before stopping, for each). A provider candidate that drops an export the module
/// imports fails to link and is rejected like any candidate without the bug.
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
    let original_provider_sizes = providers
        .iter()
        .map(|(_, input)| wat::parse_bytes(input).map_or(input.len(), |wasm| wasm.len()))
        .collect();
    let (reduced, providers) =
        shrink_linked(wasm, providers, seed, attempts, &|wasm, providers| {
            reproduces(wasm, providers, seed, finding, &options).is_some()
        })?;
    let (outcome, tried) = reproduces(&reduced, &providers, seed, finding, &options)
        .ok_or("the reduced modules do not reproduce")?;
    let mut vectors: Vec<Vector> = outcome
        .bugs()
        .filter(|f| f.class == finding.class)
        .filter_map(|f| f.vector.clone())
        .collect();
    vectors.dedup();
    if vectors.is_empty() {
        // A compile or link failure: any call of the modules will do.
        vectors = tried;
        vectors.truncate(1);
    }
    vectors.truncate(16);
    Ok(Reduced {
        wasm: reduced,
        providers,
        vectors,
        original_size: wasm.len(),
        original_provider_sizes,
    })
}

/// Shrink `wasm` while `still_fails(module, providers)` holds, then each provider in turn
/// with the reduced module (providers may be WAT; they come back as binaries).
fn shrink_linked(
    wasm: &[u8],
    providers: &[Provider],
    seed: u64,
    attempts: u32,
    still_fails: &dyn Fn(&[u8], &[Provider]) -> bool,
) -> Result<(Vec<u8>, Vec<Provider>), String> {
    let shrink = |input: Vec<u8>, predicate: &dyn Fn(&[u8]) -> bool| {
        wasm_shrink::WasmShrink::default()
            .attempts(attempts)
            .seed(seed)
            .run(input, |candidate| Ok(predicate(candidate)))
            .map(|info| info.output)
            .map_err(|e| format!("wasm-shrink: {e}"))
    };
    let mut providers: Vec<Provider> = providers
        .iter()
        .map(|(name, input)| {
            wat::parse_bytes(input)
                .map(|wasm| (name.clone(), wasm.into_owned()))
                .map_err(|e| format!("provider `{name}`: {e}"))
        })
        .collect::<Result<_, _>>()?;
    let reduced = shrink(wasm.to_vec(), &|candidate| {
        still_fails(candidate, &providers)
    })?;
    for at in 0..providers.len() {
        let shrunk = shrink(providers[at].1.clone(), &|candidate| {
            let mut trial = providers.clone();
            trial[at].1 = candidate.to_vec();
            still_fails(&reduced, &trial)
        })?;
        providers[at].1 = shrunk;
    }
    Ok((reduced, providers))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzz::{Features, Shape, generate, module_seed};

    /// Does the provider still export a function that the module imports, and does that
    /// function still multiply?
    fn imported_function_multiplies(wasm: &[u8], providers: &[Provider]) -> bool {
        let Ok(info) = crate::providers::importer_info(wasm, providers) else {
            return false;
        };
        let Some((name, provider)) = providers.first() else {
            return false;
        };
        let imported: Vec<&str> = info
            .imports
            .iter()
            .filter(|i| i.module == *name)
            .map(|i| i.name.as_str())
            .collect();
        let Ok(text) = wasmprinter::print_bytes(provider) else {
            return false;
        };
        wasmparser::validate(provider).is_ok()
            && wasmparser::validate(wasm).is_ok()
            && imported
                .iter()
                .any(|name| text.contains(&format!("(export \"{name}\" (func")))
            && text.contains(".mul")
    }

    #[test]
    fn providers_shrink_with_the_module() {
        let (features, shape) = (Features::supported(), Shape::default());
        let generated = (0..400)
            .filter_map(|i| generate(module_seed(7, i), &features, &shape).ok())
            .find(|g| imported_function_multiplies(&g.wasm, &g.providers))
            .expect("a linked seed whose importer calls a multiplying provider function");
        let (wasm, providers) = shrink_linked(
            &generated.wasm,
            &generated.providers,
            1,
            50,
            &imported_function_multiplies,
        )
        .unwrap();
        assert!(imported_function_multiplies(&wasm, &providers));
        assert!(wasm.len() < generated.wasm.len());
        let (before, after) = (&generated.providers[0].1, &providers[0].1);
        assert!(
            after.len() < before.len(),
            "provider {} -> {} bytes",
            before.len(),
            after.len()
        );
    }
}
