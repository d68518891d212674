//! NaN canonicalization after `f32.demote_f64` and `f64.promote_f32`.
//!
//! wasm-smith's `canonicalize_nans` replaces a NaN result of float arithmetic with one fixed
//! NaN, so a module that reinterprets it as an integer sees the same bits on every engine. It
//! leaves out the two conversions, whose NaN results the spec leaves open too (sign and payload:
//! wasmtime on x86 keeps the sign of a demoted NaN, synth's soft-float demote and RISC-V's
//! `fcvt.s.d` give the positive canonical NaN). This pass adds the same `select` after them, so a
//! difference in the bits is wrong code, not a choice the spec allows (module seed
//! 0xb403ee513aa2e365: the demoted `-nan` argument, reinterpreted and xor-ed into a global).

use wasm_encoder::reencode::{self, Reencode};
use wasm_encoder::{Function, Instruction, ValType};
use wasmparser::{FunctionBody, Operator, Payload};

struct Canonicalizer {
    /// Parameter count of each defined function, in code-section order.
    params: Vec<u32>,
    next: usize,
}

impl Reencode for Canonicalizer {
    type Error = std::convert::Infallible;

    fn parse_function_body(
        &mut self,
        code: &mut wasm_encoder::CodeSection,
        func: FunctionBody<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        let params = self.params.get(self.next).copied().unwrap_or(0);
        self.next += 1;
        let mut locals = Vec::new();
        let mut count = params;
        for pair in func.get_locals_reader()? {
            let (n, ty) = pair?;
            count += n;
            locals.push((n, self.val_type(ty)?));
        }
        // Two scratch locals, after the function's own.
        let (f32_scratch, f64_scratch) = (count, count + 1);
        locals.push((1, ValType::F32));
        locals.push((1, ValType::F64));
        let mut function = Function::new(locals);
        let mut reader = func.get_operators_reader()?;
        while !reader.eof() {
            let operator = reader.read()?;
            let canonical = match operator {
                Operator::F32DemoteF64 => Some((
                    f32_scratch,
                    Instruction::F32Const(f32::from_bits(0x7fc0_0000).into()),
                    Instruction::F32Eq,
                )),
                Operator::F64PromoteF32 => Some((
                    f64_scratch,
                    Instruction::F64Const(f64::from_bits(0x7ff8_0000_0000_0000).into()),
                    Instruction::F64Eq,
                )),
                _ => None,
            };
            function.instruction(&self.instruction(operator)?);
            // x; canonical NaN; x == x; select: x unless it is a NaN.
            if let Some((scratch, nan, eq)) = canonical {
                function.instruction(&Instruction::LocalTee(scratch));
                function.instruction(&nan);
                function.instruction(&Instruction::LocalGet(scratch));
                function.instruction(&Instruction::LocalGet(scratch));
                function.instruction(&eq);
                function.instruction(&Instruction::Select);
            }
        }
        code.function(&function);
        Ok(())
    }
}

/// `wasm` with a canonical NaN after every `f32.demote_f64` and `f64.promote_f32`; unchanged
/// when it has neither.
pub fn canonicalize_conversions(wasm: &[u8]) -> Result<Vec<u8>, String> {
    let mut types: Vec<Option<u32>> = Vec::new();
    let mut params = Vec::new();
    let mut conversions = false;
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        match payload.map_err(|e| e.to_string())? {
            Payload::TypeSection(reader) => {
                for group in reader {
                    for sub in group.map_err(|e| e.to_string())?.into_types() {
                        types.push(match &sub.composite_type.inner {
                            wasmparser::CompositeInnerType::Func(ft) => {
                                Some(ft.params().len() as u32)
                            }
                            _ => None,
                        });
                    }
                }
            }
            Payload::FunctionSection(reader) => {
                for ty in reader {
                    let ty = ty.map_err(|e| e.to_string())?;
                    params.push(types.get(ty as usize).copied().flatten().unwrap_or(0));
                }
            }
            Payload::CodeSectionEntry(body) => {
                let mut reader = body.get_operators_reader().map_err(|e| e.to_string())?;
                while !reader.eof() {
                    if matches!(
                        reader.read().map_err(|e| e.to_string())?,
                        Operator::F32DemoteF64 | Operator::F64PromoteF32
                    ) {
                        conversions = true;
                    }
                }
            }
            _ => {}
        }
    }
    if !conversions {
        return Ok(wasm.to_vec());
    }
    let mut module = wasm_encoder::Module::new();
    Canonicalizer { params, next: 0 }
        .parse_core_module(&mut module, wasmparser::Parser::new(0), wasm)
        .map_err(|e| format!("canonicalizing NaNs: {e}"))?;
    Ok(module.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demoted_and_promoted_nans_become_canonical() {
        let wasm = wat::parse_str(
            r#"(module
                (func (export "d") (param f64) (result i32)
                    (local i64)
                    (i32.reinterpret_f32 (f32.demote_f64 (local.get 0))))
                (func (export "p") (param f32) (result i64)
                    (i64.reinterpret_f64 (f64.promote_f32 (local.get 0)))))"#,
        )
        .unwrap();
        let out = canonicalize_conversions(&wasm).unwrap();
        wasmparser::Validator::new().validate_all(&out).unwrap();
        let oracle = crate::oracle::Oracle::new(&out, Some(1)).unwrap();
        let mut instance = oracle.instantiate().unwrap().unwrap();
        use crate::{Outcome, Value};
        assert_eq!(
            instance
                .invoke("d", &[Value::F64(0xfff8_0000_0000_0000)])
                .unwrap(),
            Outcome::Returned(vec![Value::I32(0x7fc0_0000)])
        );
        assert_eq!(
            instance.invoke("d", &[Value::from_f64(-1.5)]).unwrap(),
            Outcome::Returned(vec![Value::I32((-1.5f32).to_bits() as i32)])
        );
        assert_eq!(
            instance.invoke("p", &[Value::F32(0xffc0_0001)]).unwrap(),
            Outcome::Returned(vec![Value::I64(0x7ff8_0000_0000_0000)])
        );
        // Nothing to do: the same bytes.
        let plain = wat::parse_str("(module (func (result f32) (f32.const 1)))").unwrap();
        assert_eq!(canonicalize_conversions(&plain).unwrap(), plain);
    }
}
