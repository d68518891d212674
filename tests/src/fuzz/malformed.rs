//! Malformed-input fuzzing: valid modules (fixtures, wasm-smith output) mutated the ways real
//! corruption and hostile uploads look — flipped bits, truncation, a section cut out or lying
//! about its size, overlong and huge LEB128 counts, bytes spliced from another module — and
//! fed to the compiler. Whatever comes in, the answer is an object that parses as an ELF
//! relocatable of a module wasmparser accepts, or a typed error with a message: never a
//! panic, never an internal error. `check_host` repeats the inputs through the compiler
//! component in `synth-host` and wants the same answer, byte for byte.

use std::panic::{AssertUnwindSafe, catch_unwind};

use object::read::elf::ElfFile32;
use synth_compiler::{CompileError, ErrorKind, Options, Target, compile};

use super::Rng;

/// One mutated input: the bytes and how they were made (for the report).
#[derive(Clone, Debug)]
pub struct Mutant {
    pub bytes: Vec<u8>,
    pub how: String,
    pub options: Options,
}

/// What the compiler answered, reduced to what must agree between environments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    Object(Vec<u8>),
    Error(ErrorKind, String),
}

/// Top-level sections of a binary module: (start of the id byte, start of the payload, end).
fn sections(bytes: &[u8]) -> Vec<(usize, usize, usize)> {
    let mut out = Vec::new();
    let mut at = 8;
    while at < bytes.len() {
        let start = at;
        at += 1;
        let Some((size, len)) = read_leb_u32(&bytes[at..]) else {
            break;
        };
        at += len;
        let end = at.saturating_add(size as usize);
        if end > bytes.len() {
            break;
        }
        out.push((start, at, end));
        at = end;
    }
    out
}

fn read_leb_u32(bytes: &[u8]) -> Option<(u32, usize)> {
    let mut value = 0u64;
    for (i, &b) in bytes.iter().enumerate().take(5) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return u32::try_from(value).ok().map(|v| (v, i + 1));
        }
    }
    None
}

/// A mutation of `base` (a valid binary module), `donor` supplying spliced bytes.
pub fn mutate(base: &[u8], donor: &[u8], rng: &mut Rng) -> (Vec<u8>, String) {
    let mut bytes = base.to_vec();
    let sections = sections(&bytes);
    let pick = |rng: &mut Rng, n: usize| rng.below(n as u64) as usize;
    let kind = rng.below(9);
    match kind {
        0 => {
            let flips = 1 + rng.below(8);
            for _ in 0..flips {
                let at = pick(rng, bytes.len());
                bytes[at] ^= 1 << rng.below(8);
            }
            (bytes, format!("{flips} bit flips"))
        }
        1 => {
            let at = pick(rng, bytes.len());
            let value = [0x00, 0xff, 0x80, 0x7f, 0x41, rng.next_u64() as u8][pick(rng, 6)];
            bytes[at] = value;
            (bytes, format!("byte {at} set to {value:#04x}"))
        }
        2 => {
            let at = pick(rng, bytes.len());
            bytes.truncate(at);
            (bytes, format!("truncated to {at} bytes"))
        }
        3..=6 if !sections.is_empty() => {
            let (id_at, payload, end) = sections[pick(rng, sections.len())];
            let id = bytes[id_at];
            match kind {
                3 => {
                    bytes.drain(id_at..end);
                    (bytes, format!("section {id} at {id_at} removed"))
                }
                4 => {
                    // The size still claims the whole payload.
                    let cut = payload + pick(rng, end - payload + 1);
                    bytes.drain(cut..end);
                    (
                        bytes,
                        format!("section {id} payload cut at {cut}, size unchanged"),
                    )
                }
                5 => {
                    // The first field of most sections is a vector count.
                    let huge = [0xff, 0xff, 0xff, 0xff, 0x0f];
                    let old_len = read_leb_u32(&bytes[payload..end]).map_or(0, |(_, n)| n);
                    bytes.splice(payload..payload + old_len, huge);
                    (bytes, format!("section {id} count set to u32::MAX"))
                }
                _ => {
                    // An overlong (and then a too-long) LEB128 for the section size.
                    let size_at = id_at + 1;
                    let old_len = payload - size_at;
                    let leb: &[u8] = if rng.below(2) == 0 {
                        &[0x80, 0x80, 0x80, 0x80, 0x80, 0x00]
                    } else {
                        &[0xff, 0xff, 0xff, 0xff, 0x7f]
                    };
                    bytes.splice(size_at..size_at + old_len, leb.iter().copied());
                    (bytes, format!("section {id} size as a bad LEB128"))
                }
            }
        }
        7 if !donor.is_empty() => {
            let from = pick(rng, donor.len());
            let len = 1 + pick(rng, (donor.len() - from).min(64));
            let at = pick(rng, bytes.len());
            bytes.splice(at..at, donor[from..from + len].iter().copied());
            (bytes, format!("{len} donor bytes spliced at {at}"))
        }
        _ => {
            if let Some(&(id_at, _, end)) = sections.get(pick(rng, sections.len().max(1))) {
                let copy = bytes[id_at..end].to_vec();
                bytes.splice(end..end, copy);
                (bytes, format!("section at {id_at} duplicated"))
            } else {
                let count = 1 + pick(rng, 16);
                bytes.extend(rng.bytes(count));
                (bytes, "random bytes appended".into())
            }
        }
    }
}

/// Options for a mutant: any target, checks on or off, either allocator.
pub fn random_options(rng: &mut Rng) -> Options {
    let target = Target::ALL[rng.below(Target::ALL.len() as u64) as usize];
    let mut options = Options::new(target);
    options.bounds_checks = rng.below(2) == 0;
    options.spill_realloc = rng.below(4) != 0;
    options
}

/// Compile `mutant` with the library and check the answer; `Err` describes a bug.
pub fn check_library(mutant: &Mutant) -> Result<Answer, String> {
    let result = catch_unwind(AssertUnwindSafe(|| compile(&mutant.bytes, &mutant.options)));
    let answer = match result {
        Err(_) => return Err("the compiler panicked".into()),
        Ok(Ok(output)) => {
            if let Err(e) = ElfFile32::<object::Endianness>::parse(&*output.object) {
                return Err(format!("the object does not parse as ELF32: {e}"));
            }
            // A module the compiler accepted must be valid wasm.
            if let Err(e) = wasmparser::Validator::new().validate_all(&mutant.bytes) {
                return Err(format!("compiled a module wasmparser rejects: {e}"));
            }
            Answer::Object(output.object)
        }
        Ok(Err(CompileError { kind, message, .. })) => {
            if kind == ErrorKind::Internal {
                return Err(format!("internal error: {message}"));
            }
            if message.trim().is_empty() {
                return Err(format!("{kind:?} error without a message"));
            }
            Answer::Error(kind, message)
        }
    };
    Ok(answer)
}

/// Compile `mutant` inside the compiler component of `host` and compare with the library's
/// `expected` answer. A limit of the host (memory, time) is an acceptable answer, counted by
/// the caller; a trap of the component or a host error is a bug.
pub fn check_host(
    host: &synth_host::Host,
    mutant: &Mutant,
    expected: &Answer,
) -> Result<HostAnswer, String> {
    use synth_host::RequestError;
    let got = match host.compile(&mutant.bytes, &mutant.options) {
        Ok(output) => Answer::Object(output.object),
        Err(RequestError::Compile(e)) => Answer::Error(e.kind, e.message),
        Err(RequestError::Limit { limit, .. }) => return Ok(HostAnswer::Limit(limit)),
        Err(RequestError::Trap(message)) => {
            return Err(format!("the component trapped: {message}"));
        }
        Err(RequestError::Host(message)) => return Err(format!("host error: {message}")),
    };
    if &got != expected {
        let show = |a: &Answer| match a {
            Answer::Object(bytes) => format!("an object of {} bytes", bytes.len()),
            Answer::Error(kind, message) => format!("{kind:?}: {message}"),
        };
        return Err(format!(
            "the component answered {}, the library {}",
            show(&got),
            show(expected)
        ));
    }
    Ok(HostAnswer::Same)
}

/// How the component's answer compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostAnswer {
    Same,
    Limit(synth_host::LimitKind),
}

/// The valid modules mutants start from: every fixture, as a binary.
pub fn fixture_bases() -> Vec<Vec<u8>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "wat"))
                .collect()
        })
        .unwrap_or_default();
    paths.sort();
    paths
        .iter()
        .filter_map(|p| wat::parse_file(p).ok())
        // Huge modules make every mutant slow without finding more.
        .filter(|bytes| bytes.len() < 64 * 1024)
        .collect()
}

/// What a campaign runs.
#[derive(Clone, Debug)]
pub struct Campaign {
    pub seed: u64,
    /// Stop after this many mutants.
    pub mutants: u64,
    /// Stop after this long (checked between mutants).
    pub time: Option<std::time::Duration>,
    pub jobs: usize,
    /// Every `host_every`-th mutant also goes through the component (0: none).
    pub host_every: u64,
}

/// What a campaign saw.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    pub mutants: u64,
    pub objects: u64,
    /// Typed errors by kind.
    pub errors: std::collections::BTreeMap<String, u64>,
    pub host_checked: u64,
    pub host_limits: u64,
    /// (mutant index, how it was made, target, what went wrong).
    pub bugs: Vec<(u64, String, String, String)>,
}

impl Tally {
    pub fn summary(&self) -> String {
        let errors: Vec<String> = self
            .errors
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        format!(
            "{} mutants: {} objects, errors: {}; {} also through the component ({} hit a host \
             limit); {} bugs",
            self.mutants,
            self.objects,
            errors.join(", "),
            self.host_checked,
            self.host_limits,
            self.bugs.len()
        )
    }
}

/// Mutant `index` of a campaign: the same index always gives the same input and options.
pub fn mutant(bases: &[Vec<u8>], seed: u64, index: u64) -> Mutant {
    let mut rng = Rng::new(super::module_seed(seed, index));
    let base = &bases[rng.below(bases.len() as u64) as usize];
    let donor = &bases[rng.below(bases.len() as u64) as usize];
    // Sometimes mutate twice: one corruption can hide behind another.
    let (mut bytes, mut how) = mutate(base, donor, &mut rng);
    if rng.below(4) == 0 && bytes.len() > 8 {
        let (again, how_again) = mutate(&bytes, donor, &mut rng);
        bytes = again;
        how = format!("{how}, then {how_again}");
    }
    Mutant {
        bytes,
        how,
        options: random_options(&mut rng),
    }
}

/// Run a campaign over `bases` on `jobs` threads.
pub fn run_campaign(
    bases: &[Vec<u8>],
    campaign: &Campaign,
    host: Option<&synth_host::Host>,
) -> Tally {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU64, Ordering};
    let started = std::time::Instant::now();
    let next = AtomicU64::new(0);
    let tally = Mutex::new(Tally::default());
    std::thread::scope(|scope| {
        for _ in 0..campaign.jobs.max(1) {
            scope.spawn(|| {
                loop {
                    if campaign.time.is_some_and(|t| started.elapsed() >= t) {
                        break;
                    }
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= campaign.mutants {
                        break;
                    }
                    let m = mutant(bases, campaign.seed, index);
                    let checked = check_library(&m);
                    let through_host = host.filter(|_| {
                        campaign.host_every > 0 && index.is_multiple_of(campaign.host_every)
                    });
                    let host_result = match (&checked, through_host) {
                        (Ok(answer), Some(host)) => Some(check_host(host, &m, answer)),
                        _ => None,
                    };
                    let mut t = tally.lock().unwrap_or_else(|e| e.into_inner());
                    t.mutants += 1;
                    let target = m.options.target.name().to_string();
                    match checked {
                        Ok(Answer::Object(_)) => t.objects += 1,
                        Ok(Answer::Error(kind, _)) => {
                            *t.errors.entry(kind.as_str().to_string()).or_default() += 1;
                        }
                        Err(bug) => t.bugs.push((index, m.how.clone(), target.clone(), bug)),
                    }
                    match host_result {
                        None => {}
                        Some(Ok(answer)) => {
                            t.host_checked += 1;
                            if answer != HostAnswer::Same {
                                t.host_limits += 1;
                            }
                        }
                        Some(Err(bug)) => {
                            t.host_checked += 1;
                            t.bugs.push((index, m.how.clone(), target, bug));
                        }
                    }
                }
            });
        }
    });
    tally.into_inner().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_of_a_small_module() {
        let wasm = wat::parse_str("(module (memory 1) (func (export \"f\")))").unwrap();
        let found = sections(&wasm);
        let ids: Vec<u8> = found.iter().map(|&(at, _, _)| wasm[at]).collect();
        assert_eq!(ids, [1, 3, 5, 7, 10]);
        assert_eq!(found.last().unwrap().2, wasm.len());
    }

    #[test]
    fn every_mutation_kind_changes_the_bytes() {
        let base =
            wat::parse_str("(module (memory 1) (func (export \"f\") (result i32) i32.const 7))")
                .unwrap();
        let mut rng = Rng::new(3);
        let mut kinds = std::collections::BTreeSet::new();
        for _ in 0..400 {
            let (bytes, how) = mutate(&base, &base, &mut rng);
            let word = how.split_whitespace().last().unwrap_or("").to_string();
            kinds.insert(word);
            // A byte set to its own value or a flip pair may cancel out; most must differ.
            let _ = bytes;
        }
        assert!(kinds.len() >= 8, "{kinds:?}");
    }
}
