//! Phase one of a `.wast` run: parse the script with the `wast` crate and turn every directive
//! into an owned `Command` (modules already encoded to binary), so running it against several
//! engines needs neither the source text nor the `wast` borrows.

use wast::core::{NanPattern, WastArgCore, WastRetCore};
use wast::lexer::Lexer;
use wast::parser::{self, ParseBuffer};
use wast::{QuoteWat, Wast, WastArg, WastDirective, WastExecute, WastInvoke, WastRet, Wat};

use crate::wasm_info::{ValType, Value};

/// A parsed script: its commands in source order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Script {
    pub commands: Vec<Located>,
}

/// A command with its 1-based source line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located {
    pub line: u32,
    pub command: Command,
}

/// A module as the script gives it: binary, or why the text could not be encoded.
pub type ModuleBytes = Result<Vec<u8>, String>;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `module`: define, validate and instantiate; it becomes the current module.
    Module {
        name: Option<String>,
        wasm: ModuleBytes,
    },
    /// `register "as" $name?`: make an instance importable under `as`.
    Register {
        as_name: String,
        module: Option<String>,
    },
    /// `invoke`, `assert_return`, `assert_trap` (of an invoke), `assert_exhaustion`, or
    /// `assert_return (get ...)`: run on a persistent instance.
    Execute { action: Action, expect: Expect },
    /// `assert_invalid` / `assert_malformed`: the compiler must reject the module.
    AssertRejected {
        directive: &'static str,
        wasm: ModuleBytes,
        message: String,
    },
    /// `assert_unlinkable` / `assert_trap (module ...)`: instantiation must fail.
    AssertInstantiationFails {
        directive: &'static str,
        wasm: ModuleBytes,
        message: String,
    },
    /// A directive kind synth does not cover (threads, exceptions, components, ...).
    OutOfScope { directive: &'static str },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Invoke {
        module: Option<String>,
        name: String,
        /// The arguments, or the out-of-scope type one of them has (e.g. `f32`).
        args: Result<Vec<Value>, String>,
    },
    Get {
        module: Option<String>,
        global: String,
    },
}

/// What an `Execute` command expects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expect {
    /// A bare `invoke`: anything but a trap.
    Completes,
    /// `assert_return`: these results, or the out-of-scope type one of them has.
    Return(Result<Vec<ExpectedValue>, String>),
    /// `assert_trap`: a trap whose message starts with this one.
    Trap(String),
    /// `assert_exhaustion`: the call-stack-exhausted trap.
    Exhaustion(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExpectedValue {
    /// This value; a float bit for bit (a NaN literal with its payload, as the spec requires).
    Exact(Value),
    /// `nan:canonical`: a canonical NaN of this type, either sign.
    CanonicalNan(ValType),
    /// `nan:arithmetic`: a NaN of this type with the quiet bit set, either sign.
    ArithmeticNan(ValType),
    /// `(either ...)`: any one of these.
    OneOf(Vec<ExpectedValue>),
    /// `(ref.func)` / `(ref.extern)`: any non-null reference of this type.
    NonNull(ValType),
}

impl ExpectedValue {
    pub fn matches(&self, actual: Value) -> bool {
        match self {
            // The IR interpreter returns a reference as its i32 word.
            ExpectedValue::Exact(v) if v.ty().is_ref() && actual.ty() == ValType::I32 => {
                v.bits() == actual.bits()
            }
            ExpectedValue::Exact(v) => *v == actual,
            ExpectedValue::CanonicalNan(ty) => actual.ty() == *ty && actual.is_canonical_nan(),
            ExpectedValue::ArithmeticNan(ty) => actual.ty() == *ty && actual.is_arithmetic_nan(),
            ExpectedValue::OneOf(options) => options.iter().any(|o| o.matches(actual)),
            ExpectedValue::NonNull(ty) => {
                (actual.ty() == *ty || actual.ty() == ValType::I32) && actual.bits() != 0
            }
        }
    }
}

impl std::fmt::Display for ExpectedValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExpectedValue::Exact(v) => write!(f, "{v}"),
            ExpectedValue::CanonicalNan(ty) => write!(f, "{ty}:nan:canonical"),
            ExpectedValue::ArithmeticNan(ty) => write!(f, "{ty}:nan:arithmetic"),
            ExpectedValue::NonNull(ty) => write!(f, "non-null {ty}"),
            ExpectedValue::OneOf(options) => {
                let shown: Vec<String> = options.iter().map(|v| v.to_string()).collect();
                write!(f, "either({})", shown.join(" | "))
            }
        }
    }
}

/// Parse a `.wast` script. An error means the script itself does not parse (a broken test file).
pub fn parse(text: &str) -> Result<Script, String> {
    // The suite tests names made of bidi-override and other confusing characters on purpose.
    let mut lexer = Lexer::new(text);
    lexer.allow_confusing_unicode(true);
    let buffer = ParseBuffer::new_with_lexer(lexer).map_err(|e| render_error(e, text))?;
    let wast = parser::parse::<Wast>(&buffer).map_err(|e| render_error(e, text))?;
    let commands = wast
        .directives
        .into_iter()
        .map(|directive| {
            let line = line_of(directive.span(), text);
            Located {
                line,
                command: convert(directive),
            }
        })
        .collect();
    Ok(Script { commands })
}

fn render_error(mut error: wast::Error, text: &str) -> String {
    error.set_text(text);
    error.to_string()
}

fn line_of(span: wast::token::Span, text: &str) -> u32 {
    let (line, _column) = span.linecol_in(text);
    u32::try_from(line + 1).unwrap_or(u32::MAX)
}

fn convert(directive: WastDirective<'_>) -> Command {
    match directive {
        WastDirective::Module(QuoteWat::Wat(Wat::Component(_)))
        | WastDirective::Module(QuoteWat::QuoteComponent(..)) => Command::OutOfScope {
            directive: "component",
        },
        WastDirective::Module(mut module) => Command::Module {
            name: module.name().map(|id| id.name().to_string()),
            wasm: encode_quoted(&mut module),
        },
        WastDirective::ModuleDefinition(_) => Command::OutOfScope {
            directive: "module definition",
        },
        WastDirective::ModuleInstance { .. } => Command::OutOfScope {
            directive: "module instance",
        },
        WastDirective::AssertMalformed {
            module, message, ..
        } => rejected("assert_malformed", module, message),
        WastDirective::AssertInvalid {
            module, message, ..
        } => rejected("assert_invalid", module, message),
        WastDirective::AssertInvalidCustom { .. } => Command::OutOfScope {
            directive: "assert_invalid_custom",
        },
        WastDirective::AssertMalformedCustom { .. } => Command::OutOfScope {
            directive: "assert_malformed_custom",
        },
        WastDirective::Register { name, module, .. } => Command::Register {
            as_name: name.to_string(),
            module: module.map(|id| id.name().to_string()),
        },
        WastDirective::Invoke(invoke) => Command::Execute {
            action: invoke_action(invoke),
            expect: Expect::Completes,
        },
        WastDirective::AssertTrap {
            exec: WastExecute::Wat(wat),
            message,
            ..
        } => instantiation_fails("assert_trap", wat, message),
        WastDirective::AssertTrap { exec, message, .. } => match action(exec) {
            Some(action) => Command::Execute {
                action,
                expect: Expect::Trap(message.to_string()),
            },
            None => Command::OutOfScope {
                directive: "component",
            },
        },
        WastDirective::AssertReturn { exec, results, .. } => match action(exec) {
            Some(action) => Command::Execute {
                action,
                expect: Expect::Return(results.iter().map(expected_value).collect()),
            },
            // `assert_return (module ...)` only exists for components.
            None => Command::OutOfScope {
                directive: "component",
            },
        },
        WastDirective::AssertExhaustion { call, message, .. } => Command::Execute {
            action: invoke_action(call),
            expect: Expect::Exhaustion(message.to_string()),
        },
        WastDirective::AssertUnlinkable {
            module, message, ..
        } => instantiation_fails("assert_unlinkable", module, message),
        WastDirective::AssertException { .. } => Command::OutOfScope {
            directive: "assert_exception",
        },
        WastDirective::AssertSuspension { .. } => Command::OutOfScope {
            directive: "assert_suspension",
        },
        WastDirective::Thread(_) => Command::OutOfScope {
            directive: "thread",
        },
        WastDirective::Wait { .. } => Command::OutOfScope { directive: "wait" },
    }
}

fn encode_quoted(module: &mut QuoteWat<'_>) -> ModuleBytes {
    module.encode().map_err(|e| e.message())
}

fn rejected(directive: &'static str, mut module: QuoteWat<'_>, message: &str) -> Command {
    if matches!(
        module,
        QuoteWat::Wat(Wat::Component(_)) | QuoteWat::QuoteComponent(..)
    ) {
        return Command::OutOfScope {
            directive: "component",
        };
    }
    Command::AssertRejected {
        directive,
        wasm: encode_quoted(&mut module),
        message: message.to_string(),
    }
}

fn instantiation_fails(directive: &'static str, mut module: Wat<'_>, message: &str) -> Command {
    if matches!(module, Wat::Component(_)) {
        return Command::OutOfScope {
            directive: "component",
        };
    }
    Command::AssertInstantiationFails {
        directive,
        wasm: module.encode().map_err(|e| e.message()),
        message: message.to_string(),
    }
}

fn action(exec: WastExecute<'_>) -> Option<Action> {
    match exec {
        WastExecute::Invoke(invoke) => Some(invoke_action(invoke)),
        WastExecute::Get { module, global, .. } => Some(Action::Get {
            module: module.map(|id| id.name().to_string()),
            global: global.to_string(),
        }),
        WastExecute::Wat(_) => None,
    }
}

fn invoke_action(invoke: WastInvoke<'_>) -> Action {
    Action::Invoke {
        module: invoke.module.map(|id| id.name().to_string()),
        name: invoke.name.to_string(),
        args: invoke.args.iter().map(argument).collect(),
    }
}

/// An argument as a harness value, or the name of its out-of-scope type.
fn argument(arg: &WastArg<'_>) -> Result<Value, String> {
    match arg {
        WastArg::Core(WastArgCore::I32(v)) => Ok(Value::I32(*v)),
        WastArg::Core(WastArgCore::I64(v)) => Ok(Value::I64(*v)),
        WastArg::Core(WastArgCore::F32(v)) => Ok(Value::F32(v.bits)),
        WastArg::Core(WastArgCore::F64(v)) => Ok(Value::F64(v.bits)),
        WastArg::Core(WastArgCore::V128(_)) => Err("v128".into()),
        WastArg::Core(WastArgCore::RefNull(heap)) => match null_type(Some(heap)) {
            Some(ty) => Ok(Value::from_bits(ty, 0)),
            None => Err("ref".into()),
        },
        WastArg::Core(WastArgCore::RefExtern(n)) => Ok(Value::ExternRef(n.wrapping_add(1))),
        WastArg::Core(_) => Err("ref".into()),
        _ => Err("component value".into()),
    }
}

fn expected_value(ret: &WastRet<'_>) -> Result<ExpectedValue, String> {
    match ret {
        WastRet::Core(core) => expected_core(core),
        _ => Err("component value".into()),
    }
}

fn expected_core(ret: &WastRetCore<'_>) -> Result<ExpectedValue, String> {
    match ret {
        WastRetCore::I32(v) => Ok(ExpectedValue::Exact(Value::I32(*v))),
        WastRetCore::I64(v) => Ok(ExpectedValue::Exact(Value::I64(*v))),
        WastRetCore::F32(pattern) => {
            Ok(float_pattern(pattern, ValType::F32, |v| Value::F32(v.bits)))
        }
        WastRetCore::F64(pattern) => {
            Ok(float_pattern(pattern, ValType::F64, |v| Value::F64(v.bits)))
        }
        WastRetCore::V128(_) => Err("v128".into()),
        WastRetCore::RefNull(heap) => match (heap, null_type(heap.as_ref())) {
            (None, _) => Ok(ExpectedValue::OneOf(vec![
                ExpectedValue::Exact(Value::FuncRef(0)),
                ExpectedValue::Exact(Value::ExternRef(0)),
            ])),
            (_, Some(ty)) => Ok(ExpectedValue::Exact(Value::from_bits(ty, 0))),
            _ => Err("ref".into()),
        },
        WastRetCore::RefExtern(Some(n)) => {
            Ok(ExpectedValue::Exact(Value::ExternRef(n.wrapping_add(1))))
        }
        WastRetCore::RefExtern(None) => Ok(ExpectedValue::NonNull(ValType::ExternRef)),
        WastRetCore::RefFunc(_) => Ok(ExpectedValue::NonNull(ValType::FuncRef)),
        WastRetCore::Either(options) => {
            let mut values = Vec::with_capacity(options.len());
            for option in options {
                match expected_core(option)? {
                    ExpectedValue::OneOf(nested) => values.extend(nested),
                    single => values.push(single),
                }
            }
            Ok(ExpectedValue::OneOf(values))
        }
        _ => Err("ref".into()),
    }
}

/// The reference type of `ref.null HEAP` (func or extern; others are out of scope).
fn null_type(heap: Option<&wast::core::HeapType<'_>>) -> Option<ValType> {
    use wast::core::{AbstractHeapType, HeapType};
    match heap {
        Some(HeapType::Abstract {
            shared: false,
            ty: AbstractHeapType::Func | AbstractHeapType::NoFunc,
        }) => Some(ValType::FuncRef),
        Some(HeapType::Abstract {
            shared: false,
            ty: AbstractHeapType::Extern | AbstractHeapType::NoExtern,
        }) => Some(ValType::ExternRef),
        _ => None,
    }
}

fn float_pattern<T: Copy>(
    pattern: &NanPattern<T>,
    ty: ValType,
    value: impl Fn(T) -> Value,
) -> ExpectedValue {
    match pattern {
        NanPattern::CanonicalNan => ExpectedValue::CanonicalNan(ty),
        NanPattern::ArithmeticNan => ExpectedValue::ArithmeticNan(ty),
        NanPattern::Value(v) => ExpectedValue::Exact(value(*v)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCRIPT: &str = r#"
(module $m (func (export "f") (param i32 i64) (result i32) (local.get 0)))
(assert_return (invoke "f" (i32.const -1) (i64.const 5)) (i32.const -1))
(assert_return (invoke $m "f" (f32.const 1) (i64.const 5)) (i32.const 0))
(assert_return (invoke "f" (i32.const 1) (i64.const 5)) (either (i32.const 1) (i32.const 2)))
(assert_return (get "g") (v128.const i32x4 0 0 0 0))
(assert_trap (invoke "f" (i32.const 0) (i64.const 0)) "unreachable")
(assert_exhaustion (invoke "f" (i32.const 0) (i64.const 0)) "call stack exhausted")
(assert_malformed (module quote "(func (nonsense))") "unknown operator")
(assert_invalid (module (func (result i32))) "type mismatch")
(assert_unlinkable (module (import "spectest" "nope" (func))) "unknown import")
(assert_trap (module (memory 0) (data (i32.const 1) "x")) "out of bounds memory access")
(register "M" $m)
(invoke "f" (i32.const 2) (i64.const 3))
"#;

    #[test]
    fn directives_become_owned_commands_with_lines() {
        let script = parse(SCRIPT).unwrap();
        let commands = &script.commands;
        assert_eq!(commands.len(), 13);
        assert_eq!(commands[0].line, 2);
        match &commands[0].command {
            Command::Module { name, wasm } => {
                assert_eq!(name.as_deref(), Some("m"));
                assert!(wasm.as_ref().unwrap().starts_with(b"\0asm"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            commands[1].command,
            Command::Execute {
                action: Action::Invoke {
                    module: None,
                    name: "f".into(),
                    args: Ok(vec![Value::I32(-1), Value::I64(5)]),
                },
                expect: Expect::Return(Ok(vec![ExpectedValue::Exact(Value::I32(-1))])),
            }
        );
        match &commands[2].command {
            Command::Execute {
                action: Action::Invoke { module, args, .. },
                ..
            } => {
                assert_eq!(module.as_deref(), Some("m"));
                assert_eq!(args, &Ok(vec![Value::F32(0x3f80_0000), Value::I64(5)]));
            }
            other => panic!("{other:?}"),
        }
        match &commands[3].command {
            Command::Execute {
                expect: Expect::Return(Ok(values)),
                ..
            } => {
                assert!(values[0].matches(Value::I32(2)));
                assert!(!values[0].matches(Value::I32(3)));
                assert!(!values[0].matches(Value::I64(1)));
            }
            other => panic!("{other:?}"),
        }
        match &commands[4].command {
            Command::Execute {
                action: Action::Get { global, .. },
                expect: Expect::Return(Err(ty)),
            } => {
                assert_eq!(global, "g");
                assert_eq!(ty, "v128");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            &commands[5].command,
            Command::Execute { expect: Expect::Trap(m), .. } if m == "unreachable"
        ));
        assert!(matches!(
            &commands[6].command,
            Command::Execute {
                expect: Expect::Exhaustion(_),
                ..
            }
        ));
        // Quoted text the wast crate cannot encode is already a rejection.
        assert!(matches!(
            &commands[7].command,
            Command::AssertRejected {
                directive: "assert_malformed",
                wasm: Err(_),
                ..
            }
        ));
        // An invalid module still encodes: synth has to reject it.
        assert!(matches!(
            &commands[8].command,
            Command::AssertRejected {
                directive: "assert_invalid",
                wasm: Ok(_),
                ..
            }
        ));
        assert!(matches!(
            &commands[9].command,
            Command::AssertInstantiationFails {
                directive: "assert_unlinkable",
                ..
            }
        ));
        assert!(matches!(
            &commands[10].command,
            Command::AssertInstantiationFails { directive: "assert_trap", message, .. }
                if message == "out of bounds memory access"
        ));
        assert_eq!(
            commands[11].command,
            Command::Register {
                as_name: "M".into(),
                module: Some("m".into())
            }
        );
        assert_eq!(commands[12].line, 14);
        assert!(matches!(
            &commands[12].command,
            Command::Execute {
                expect: Expect::Completes,
                ..
            }
        ));
    }

    #[test]
    fn float_constants_and_nan_patterns_become_values() {
        let script = parse(
            r#"(module (func (export "f") (param f32 f64) (result f32 f64 f32)
                 (local.get 0) (local.get 1) (local.get 0)))
(assert_return (invoke "f" (f32.const -0x1p-149) (f64.const nan:0x4000000000000))
  (f32.const nan:canonical) (f64.const nan:arithmetic) (f32.const -nan:0x200000))
(assert_return (invoke "f" (f32.const inf) (f64.const 0.1))
  (either (f32.const 1.5) (f32.const nan:arithmetic)) (f64.const -0.0) (f32.const 1e-40))"#,
        )
        .unwrap();
        let Command::Execute {
            action: Action::Invoke { args, .. },
            expect: Expect::Return(Ok(expected)),
        } = &script.commands[1].command
        else {
            panic!("{:?}", script.commands[1]);
        };
        assert_eq!(
            args,
            &Ok(vec![
                Value::F32(0x8000_0001),
                Value::F64(0x7ff4_0000_0000_0000)
            ])
        );
        assert_eq!(
            expected,
            &vec![
                ExpectedValue::CanonicalNan(ValType::F32),
                ExpectedValue::ArithmeticNan(ValType::F64),
                ExpectedValue::Exact(Value::F32(0xffa0_0000)),
            ]
        );
        // nan:canonical: either sign, exactly the quiet bit, the right type.
        let canonical = &expected[0];
        assert!(canonical.matches(Value::F32(0x7fc0_0000)));
        assert!(canonical.matches(Value::F32(0xffc0_0000)));
        assert!(!canonical.matches(Value::F32(0x7fc0_0001)));
        assert!(!canonical.matches(Value::F64(0x7ff8_0000_0000_0000)));
        assert!(!canonical.matches(Value::I32(0x7fc0_0000)));
        // nan:arithmetic: any quiet NaN.
        let arithmetic = &expected[1];
        assert!(arithmetic.matches(Value::F64(0xfff8_0000_0000_0001)));
        assert!(arithmetic.matches(Value::F64(0x7ff8_0000_0000_0000)));
        assert!(!arithmetic.matches(Value::F64(0x7ff4_0000_0000_0000)));
        assert!(!arithmetic.matches(Value::F64(0x7ff0_0000_0000_0000)));
        // A NaN literal is matched bit for bit.
        assert!(expected[2].matches(Value::F32(0xffa0_0000)));
        assert!(!expected[2].matches(Value::F32(0x7fa0_0000)));
        assert!(!expected[2].matches(Value::F32(0xffe0_0000)));

        let Command::Execute {
            expect: Expect::Return(Ok(expected)),
            ..
        } = &script.commands[2].command
        else {
            panic!("{:?}", script.commands[2]);
        };
        assert!(expected[0].matches(Value::from_f32(1.5)));
        assert!(expected[0].matches(Value::F32(0xffc0_0001)));
        assert!(!expected[0].matches(Value::from_f32(-1.5)));
        assert!(expected[1].matches(Value::from_f64(-0.0)));
        assert!(!expected[1].matches(Value::from_f64(0.0)));
        assert!(expected[2].matches(Value::F32(0x0001_16c2)));
        assert_eq!(
            expected[0].to_string(),
            "either(f32:1.5 (0x3fc00000) | f32:nan:arithmetic)"
        );
    }

    #[test]
    fn confusing_unicode_in_names_is_accepted() {
        let script = parse("(module (func (export \"a\u{202e}b\")))").unwrap();
        assert_eq!(script.commands.len(), 1);
    }

    #[test]
    fn a_broken_script_is_an_error_with_its_location() {
        let err = parse("(module)\n(assert_return (invoke \"f\")").unwrap_err();
        assert!(err.contains(":2:"), "{err}");
    }
}
