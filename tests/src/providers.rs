//! Modules linked with the modules they import from (docs/ABI.md "Linking modules"): the
//! differential test's `fixtures/lib/NAME.wat` providers and the fuzzer's generated ones. Each
//! provider is compiled with the importer's options under its module name and linked into the
//! importer's image; wasmtime instantiates it first (`Oracle::linked`). Both sides observe the
//! providers' memories and globals after the importer's.

use std::path::Path;

use synth_compiler::{CompileError, Options, Target};

use crate::emu::SynthInstance;
use crate::{HarnessError, ModuleInfo};

/// A provider: its module name (what the importer imports from) and its wasm or WAT.
pub type Provider = (String, Vec<u8>);

/// A compiled provider: its module name and its object.
pub type ProviderObject = (String, Vec<u8>);

/// The module names `wasm` imports from, in first-import order.
pub fn import_modules(wasm: &[u8]) -> Result<Vec<String>, HarnessError> {
    let mut names: Vec<String> = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(|e| HarnessError::new(format!("malformed wasm: {e}")))?;
        if let wasmparser::Payload::ImportSection(reader) = payload {
            for import in reader.into_imports() {
                let import =
                    import.map_err(|e| HarnessError::new(format!("malformed import: {e}")))?;
                if !names.iter().any(|n| n == import.module) {
                    names.push(import.module.to_string());
                }
            }
        }
    }
    Ok(names)
}

/// The modules `wasm` imports from that `lib_dir/NAME.wat` provides, as (NAME, its text), in
/// first-import order.
pub fn from_dir(wasm: &[u8], lib_dir: &Path) -> Result<Vec<Provider>, HarnessError> {
    let mut found = Vec::new();
    for name in import_modules(wasm)? {
        let path = lib_dir.join(format!("{name}.wat"));
        if path.exists() {
            let text = std::fs::read(&path)
                .map_err(|e| HarnessError::new(format!("cannot read {}: {e}", path.display())))?;
            found.push((name, text));
        }
    }
    Ok(found)
}

/// The importer's description: `ModuleInfo::parse_linked` with providers (imports of
/// memories, globals and tables allowed), `ModuleInfo::parse` without.
pub fn importer_info(input: &[u8], providers: &[Provider]) -> Result<ModuleInfo, HarnessError> {
    if providers.is_empty() {
        ModuleInfo::parse(input)
    } else {
        ModuleInfo::parse_linked(input)
    }
}

/// Each provider's module name and description (`ModuleInfo::parse_linked`: export names and
/// signatures), for vectors that call the providers' exports.
pub fn provider_infos(providers: &[Provider]) -> Result<Vec<(String, ModuleInfo)>, HarnessError> {
    providers
        .iter()
        .map(|(name, input)| {
            let wasm = wat::parse_bytes(input)
                .map_err(|e| HarnessError::new(format!("cannot parse provider `{name}`: {e}")))?;
            Ok((name.clone(), ModuleInfo::parse_linked(&wasm)?))
        })
        .collect()
}

/// Every provider compiled with `options` under its module name, as (name, object); the
/// provider's name and the error when one does not compile.
pub fn compile(
    providers: &[Provider],
    options: &Options,
) -> Result<Vec<ProviderObject>, (String, CompileError)> {
    providers
        .iter()
        .map(|(name, input)| {
            let mut options = options.clone();
            options.module_name = Some(name.clone());
            synth_compiler::compile(input, &options)
                .map(|output| (name.clone(), output.object))
                .map_err(|e| (name.clone(), e))
        })
        .collect()
}

/// `object` (the importer, legacy names) linked with the compiled providers (`compile`) for
/// `target`; the instance observes the providers' memories and globals after its own.
pub fn link(
    target: Target,
    object: &[u8],
    info: &ModuleInfo,
    providers: &[Provider],
    objects: &[ProviderObject],
) -> Result<SynthInstance, HarnessError> {
    if objects.is_empty() {
        return SynthInstance::new(target, object, info);
    }
    let infos = providers
        .iter()
        .map(|(name, input)| {
            let wasm = wat::parse_bytes(input)
                .map_err(|e| HarnessError::new(format!("cannot parse provider `{name}`: {e}")))?;
            Ok((name.clone(), ModuleInfo::parse_namespaced(&wasm, name)?))
        })
        .collect::<Result<Vec<_>, HarnessError>>()?;
    let mut instance = SynthInstance::link_providers(target, object, info, objects)?;
    instance.observe_providers(infos);
    Ok(instance)
}
