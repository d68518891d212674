//! A module valid only under a post-2.0 proposal is `unsupported`, and the message names the
//! proposal; a module invalid under every proposal stays `invalid`.

use synth_compiler::{ErrorKind, Options, compile};

fn error_of(wat: &str) -> synth_compiler::CompileError {
    match compile(wat.as_bytes(), &Options::default()) {
        Ok(_) => panic!("{wat} compiled"),
        Err(e) => e,
    }
}

#[test]
fn post_2_0_proposals_are_unsupported_by_name() {
    let cases = [
        ("(module (memory 1) (memory 1))", "multi-memory"),
        ("(module (memory i64 1))", "memory64"),
        ("(module (func $f (return_call $f)))", "tail calls"),
        ("(module (memory 1 1 shared))", "threads"),
        ("(module (tag $t) (func (throw $t)))", "exception handling"),
        ("(module (type (struct (field i32))))", "garbage collection"),
        ("(module (memory 1 (pagesize 1)))", "custom page sizes"),
        (
            "(module (global i32 (i32.add (i32.const 1) (i32.const 2))))",
            "extended constant expressions",
        ),
    ];
    for (wat, proposal) in cases {
        let e = error_of(wat);
        assert_eq!(e.kind, ErrorKind::Unsupported, "{wat}: {e}");
        assert!(e.message.contains(proposal), "{wat}: {e}");
        assert!(e.message.contains("beyond WebAssembly 2.0"), "{wat}: {e}");
    }
}

#[test]
fn invalid_modules_stay_invalid() {
    for wat in [
        "(module (func (result i32)))",
        "(module (func (i32.add (i32.const 1) (i64.const 2)) drop))",
    ] {
        let e = error_of(wat);
        assert_eq!(e.kind, ErrorKind::Invalid, "{wat}: {e}");
    }
}
