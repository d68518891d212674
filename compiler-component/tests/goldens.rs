//! Frozen code goldens: for every fixture × {cortex-m4, cortex-m4f, cortex-m7dp, rv32imac, rv32imafc} × {default,
//! spill-realloc off}, `fixtures/goldens.txt` pins the length and SHA-256 of the object's `.text`,
//! meaning every `.text*` section's bytes concatenated in section-header order. Any change in
//! generated code fails here and prints the new pins; a deliberate change is refrozen with
//!
//! ```text
//! SYNTH_REFREEZE=1 cargo test -p synth-compiler --test goldens
//! ```
//!
//! and the commit says which goldens moved and by how many bytes.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use synth_compiler::{Options, Target, compile};

const TARGETS: [Target; 5] = [
    Target::CortexM4,
    Target::CortexM4F,
    Target::CortexM7DP,
    Target::Rv32imac,
    Target::Rv32imafc,
];

/// (name in the goldens file, spill-realloc on?)
const VARIANTS: [(&str, bool); 2] = [("default", true), ("spill-realloc-off", false)];

fn goldens_path() -> PathBuf {
    common::fixtures_dir().join("goldens.txt")
}

fn fixtures() -> Vec<(String, Vec<u8>)> {
    common::fixture_texts()
}

/// Key: "fixture target variant"; value: "length sha256".
type Pins = BTreeMap<String, String>;

fn pin_of(object: &[u8]) -> String {
    let text = text_bytes(object);
    format!("{} {}", text.len(), hex(&sha256(&text)))
}

fn compute_pins() -> Pins {
    let mut pins = Pins::new();
    for (name, wat) in fixtures() {
        for target in TARGETS {
            for (variant, spill_realloc) in VARIANTS {
                let mut options = Options::new(target);
                options.spill_realloc = spill_realloc;
                let output = compile(&wat, &options)
                    .unwrap_or_else(|e| panic!("{name} {} {variant}: {e}", target.name()));
                pins.insert(
                    format!("{name} {} {variant}", target.name()),
                    pin_of(&output.object),
                );
            }
        }
    }
    pins
}

/// While refreezing, the tests that read the pins would race the rewrite: they wait for the
/// next run.
fn refreezing() -> bool {
    std::env::var("SYNTH_REFREEZE").is_ok_and(|v| v == "1")
}

fn read_pins() -> Pins {
    let text = std::fs::read_to_string(goldens_path()).unwrap_or_default();
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let fields: Vec<&str> = l.split_whitespace().collect();
            match fields[..] {
                [fixture, target, variant, len, hash] => Some((
                    format!("{fixture} {target} {variant}"),
                    format!("{len} {hash}"),
                )),
                _ => None,
            }
        })
        .collect()
}

fn render(pins: &Pins) -> String {
    let mut out = String::from(
        "# .text pins: fixture target variant length sha256 (all .text* sections concatenated).\n\
         # Refreeze: SYNTH_REFREEZE=1 cargo test -p synth-compiler --test goldens\n",
    );
    for (key, value) in pins {
        out.push_str(&format!("{key} {value}\n"));
    }
    out
}

#[test]
fn text_matches_the_frozen_goldens() {
    let actual = compute_pins();
    if refreezing() {
        std::fs::write(goldens_path(), render(&actual)).expect("goldens file is writable");
        return;
    }
    let frozen = read_pins();
    let mut drift = Vec::new();
    for (key, value) in &actual {
        match frozen.get(key) {
            Some(pinned) if pinned == value => {}
            Some(pinned) => {
                let old: i64 = pinned
                    .split(' ')
                    .next()
                    .and_then(|l| l.parse().ok())
                    .unwrap_or(0);
                let new: i64 = value
                    .split(' ')
                    .next()
                    .and_then(|l| l.parse().ok())
                    .unwrap_or(0);
                drift.push(format!(
                    "{key}: {pinned} -> {value} ({:+} bytes)",
                    new - old
                ));
            }
            None => drift.push(format!("{key}: not pinned, now {value}")),
        }
    }
    for key in frozen.keys().filter(|k| !actual.contains_key(*k)) {
        drift.push(format!("{key}: pinned but no longer produced"));
    }
    assert!(
        drift.is_empty(),
        "{} goldens drifted:\n{}\n\nNew pins (or run SYNTH_REFREEZE=1 cargo test -p synth-compiler \
         --test goldens):\n{}",
        drift.len(),
        drift.join("\n"),
        render(&actual)
    );
}

/// The escape hatch: the `synth` binary with `--no-spill-realloc`, and with
/// `SYNTH_SPILL_REALLOC=0`, reproduces the spill-realloc-off pins byte for byte.
#[test]
fn spill_realloc_off_reproduces_its_pins() {
    if refreezing() {
        return;
    }
    let frozen = read_pins();
    assert!(
        !frozen.is_empty(),
        "no goldens in {}",
        goldens_path().display()
    );
    let out_dir = std::env::temp_dir().join(format!("synth-goldens-{}", std::process::id()));
    std::fs::create_dir_all(&out_dir).expect("temporary directory");
    let output = out_dir.join("out.o");
    let mut checked = 0;
    for (name, _) in fixtures() {
        let input = common::fixtures_dir().join(format!("{name}.wat"));
        for target in TARGETS {
            let key = format!("{name} {} spill-realloc-off", target.name());
            let Some(pinned) = frozen.get(&key) else {
                panic!("{key} is not pinned");
            };
            for way in ["flag", "environment"] {
                let mut command = Command::new(env!("CARGO_BIN_EXE_synth"));
                command
                    .arg("compile")
                    .arg(&input)
                    .args(["--target", target.name(), "-o"])
                    .arg(&output);
                if way == "flag" {
                    command.arg("--no-spill-realloc");
                    command.env_remove("SYNTH_SPILL_REALLOC");
                } else {
                    command.env("SYNTH_SPILL_REALLOC", "0");
                }
                let status = command.status().expect("the synth binary runs");
                assert!(status.success(), "{key} via the {way}");
                let object = std::fs::read(&output).expect("the object was written");
                assert_eq!(&pin_of(&object), pinned, "{key} via the {way}");
                checked += 1;
            }
        }
    }
    let _ = std::fs::remove_dir_all(&out_dir);
    assert!(checked >= 6, "{checked}");
}

/// The default really is different code (otherwise the escape hatch proves nothing).
#[test]
fn the_variants_differ() {
    if refreezing() {
        return;
    }
    let frozen = read_pins();
    let differing = frozen
        .iter()
        .filter(|(k, _)| k.ends_with(" default"))
        .filter(|(k, v)| {
            let off = k.replace(" default", " spill-realloc-off");
            frozen.get(&off).is_some_and(|o| o != *v)
        })
        .count();
    assert!(
        differing > 10,
        "only {differing} fixtures differ between the variants"
    );
}

#[test]
fn sha256_known_answers() {
    assert_eq!(
        hex(&sha256(b"")),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
        hex(&sha256(b"abc")),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    // Two blocks.
    assert_eq!(
        hex(&sha256(
            b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
        )),
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
    );
}

/// Bytes of every section whose name starts with `.text`, in section-header order (ELF32 LE).
fn text_bytes(elf: &[u8]) -> Vec<u8> {
    let u16_at = |o: usize| u16::from_le_bytes([elf[o], elf[o + 1]]) as usize;
    let u32_at =
        |o: usize| u32::from_le_bytes([elf[o], elf[o + 1], elf[o + 2], elf[o + 3]]) as usize;
    assert_eq!(&elf[..5], b"\x7fELF\x01", "an ELF32 object");
    let shoff = u32_at(0x20);
    let shentsize = u16_at(0x2e);
    let shnum = u16_at(0x30);
    let shstrndx = u16_at(0x32);
    let header = |i: usize| shoff + i * shentsize;
    let names = u32_at(header(shstrndx) + 0x10);
    let mut text = Vec::new();
    for i in 0..shnum {
        let h = header(i);
        let name_start = names + u32_at(h);
        let name_end = name_start
            + elf[name_start..]
                .iter()
                .position(|b| *b == 0)
                .expect("NUL-terminated section name");
        let name = &elf[name_start..name_end];
        if name.starts_with(b".text") {
            let (offset, size) = (u32_at(h + 0x10), u32_at(h + 0x14));
            text.extend_from_slice(&elf[offset..offset + size]);
        }
    }
    text
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// FIPS 180-4 SHA-256 (a test needs no dependency for 60 lines).
fn sha256(data: &[u8]) -> [u8; 32] {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut message = data.to_vec();
    message.push(0x80);
    while message.len() % 64 != 56 {
        message.push(0);
    }
    message.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    for block in message.chunks_exact(64) {
        let mut w = [0u32; 64];
        for (i, word) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let mut v = h;
        for i in 0..64 {
            let s1 = v[4].rotate_right(6) ^ v[4].rotate_right(11) ^ v[4].rotate_right(25);
            let ch = (v[4] & v[5]) ^ (!v[4] & v[6]);
            let t1 = v[7]
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = v[0].rotate_right(2) ^ v[0].rotate_right(13) ^ v[0].rotate_right(22);
            let maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
            let t2 = s0.wrapping_add(maj);
            v = [
                t1.wrapping_add(t2),
                v[0],
                v[1],
                v[2],
                v[3].wrapping_add(t1),
                v[4],
                v[5],
                v[6],
            ];
        }
        for (x, y) in h.iter_mut().zip(v) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 32];
    for (chunk, word) in out.chunks_exact_mut(4).zip(h) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}
