//! Mapping between the library's types and the WIT types of `synth:compiler/compile`, so the
//! host's API speaks `synth_compiler` types and its results compare directly with a native
//! compilation.

use synth_compiler::isa::{LineKind, ListingLine};
use synth_compiler::regalloc::EditKind;
use synth_compiler::report::allocation::{self, AllocationReport};
use synth_compiler::report::{Footprint, FunctionReport, Report, TableReport};
use synth_compiler::{CompileError, ErrorKind, Options, Output, Target};

use crate::bindings::exports::synth::compiler::compile as wit;

pub(crate) fn wit_target(target: Target) -> wit::Target {
    match target {
        Target::CortexM3 => wit::Target::CortexM3,
        Target::CortexM4 => wit::Target::CortexM4,
        Target::CortexM4F => wit::Target::CortexM4f,
        Target::CortexM7 => wit::Target::CortexM7,
        Target::CortexM7DP => wit::Target::CortexM7dp,
        Target::Rv32imac => wit::Target::Rv32imac,
        Target::Rv32imafc => wit::Target::Rv32imafc,
    }
}

pub(crate) fn library_target(target: wit::Target) -> Target {
    match target {
        wit::Target::CortexM3 => Target::CortexM3,
        wit::Target::CortexM4 => Target::CortexM4,
        wit::Target::CortexM4f => Target::CortexM4F,
        wit::Target::CortexM7 => Target::CortexM7,
        wit::Target::CortexM7dp => Target::CortexM7DP,
        wit::Target::Rv32imac => Target::Rv32imac,
        wit::Target::Rv32imafc => Target::Rv32imafc,
    }
}

/// Field by field (no `..`), so a new library option fails to compile here until the WIT
/// record carries it too.
pub(crate) fn wit_options(options: &Options) -> wit::Options {
    let Options {
        target,
        bounds_checks,
        stack_check,
        max_memory_pages,
        optimize,
        optimize_for_size,
        spill_realloc,
        module_name,
        explain_allocation,
    } = options.clone();
    wit::Options {
        target: wit_target(target),
        bounds_checks,
        stack_check,
        max_memory_pages,
        optimize,
        optimize_for_size,
        spill_realloc,
        module_name,
        explain_allocation,
    }
}

pub(crate) fn library_options(options: &wit::Options) -> Options {
    let wit::Options {
        target,
        bounds_checks,
        stack_check,
        max_memory_pages,
        optimize,
        optimize_for_size,
        spill_realloc,
        module_name,
        explain_allocation,
    } = options.clone();
    Options {
        target: library_target(target),
        bounds_checks,
        stack_check,
        max_memory_pages,
        optimize,
        optimize_for_size,
        spill_realloc,
        module_name,
        explain_allocation,
    }
}

pub(crate) fn library_error(error: wit::CompileError) -> CompileError {
    let kind = match error.kind {
        wit::ErrorKind::Malformed => ErrorKind::Malformed,
        wit::ErrorKind::Invalid => ErrorKind::Invalid,
        wit::ErrorKind::Unsupported => ErrorKind::Unsupported,
        wit::ErrorKind::Limit => ErrorKind::Limit,
        wit::ErrorKind::Options => ErrorKind::Options,
        wit::ErrorKind::Internal => ErrorKind::Internal,
    };
    CompileError {
        kind,
        message: error.message,
        offset: error.offset,
        function: error.function,
    }
}

pub(crate) fn library_output(output: wit::Output) -> Output {
    Output {
        object: output.object,
        header: output.header,
        report: Report {
            target: output.report.target,
            functions: output
                .report
                .functions
                .into_iter()
                .map(library_function_report)
                .collect(),
            footprint: Footprint {
                text: output.report.footprint.text,
                rodata: output.report.footprint.rodata,
                data: output.report.footprint.data,
                bss: output.report.footprint.bss,
            },
            tables: output
                .report
                .tables
                .into_iter()
                .map(|t| TableReport {
                    name: t.name,
                    symbol: t.symbol,
                    element_type: t.element_type,
                    size: t.size,
                    capacity: t.capacity,
                    functions: t.functions,
                    null_entries: t.null_entries,
                })
                .collect(),
        },
    }
}

fn library_function_report(function: wit::FunctionReport) -> FunctionReport {
    FunctionReport {
        name: function.name,
        symbol: function.symbol,
        code_size: function.code_size,
        spills: function.spills,
        reloads: function.reloads,
        moves: function.moves,
        remats: function.remats,
        max_pressure: function.max_pressure,
        frame_size: function.frame_size,
        indirect: function.indirect,
        listing: function
            .listing
            .into_iter()
            .map(|line| ListingLine {
                offset: line.offset,
                bytes: line.bytes,
                text: line.text,
                wasm_offset: line.wasm_offset,
                step: line.step,
                kind: match line.kind {
                    wit::LineKind::Code => LineKind::Code,
                    wit::LineKind::Spill => LineKind::Edit(EditKind::Spill),
                    wit::LineKind::Reload => LineKind::Edit(EditKind::Reload),
                    wit::LineKind::Move => LineKind::Edit(EditKind::Move),
                    wit::LineKind::Remat => LineKind::Edit(EditKind::Remat),
                    wit::LineKind::Data => LineKind::Data,
                },
            })
            .collect(),
        allocation: function.allocation.map(library_allocation),
    }
}

/// The allocation account, field by field (a new library field fails to compile here).
fn library_allocation(account: wit::AllocationReport) -> AllocationReport {
    let wit::AllocationReport {
        classes,
        values,
        ranges,
        pressure,
        blocks,
        notes,
        slots,
    } = account;
    AllocationReport {
        classes: classes
            .into_iter()
            .map(|c| allocation::ClassReport {
                name: c.name,
                registers: c.registers,
            })
            .collect(),
        values: values
            .into_iter()
            .map(|v| allocation::ValueReport {
                name: v.name,
                origin: v.origin,
                class: v.class,
                wasm_offset: v.wasm_offset,
            })
            .collect(),
        ranges: ranges
            .into_iter()
            .map(|r| allocation::RangeReport {
                value: r.value,
                location: r.location,
                first_line: r.first_line,
                end_line: r.end_line,
            })
            .collect(),
        pressure,
        blocks: blocks
            .into_iter()
            .map(|b| allocation::BlockReport {
                label: b.label,
                first_line: b.first_line,
                end_line: b.end_line,
                max_pressure: b.max_pressure,
            })
            .collect(),
        notes: notes
            .into_iter()
            .map(|n| allocation::NoteReport {
                line: n.line,
                value: n.value,
                reason: n.reason,
                related_line: n.related_line,
            })
            .collect(),
        slots: slots
            .into_iter()
            .map(|s| allocation::SlotReport {
                location: s.location,
                values: s.values,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_and_options_round_trip() {
        for target in Target::ALL {
            assert_eq!(library_target(wit_target(target)), target);
            let mut options = Options::new(target);
            options.bounds_checks = false;
            options.max_memory_pages = Some(3);
            options.optimize = false;
            options.optimize_for_size = true;
            options.spill_realloc = false;
            assert_eq!(library_options(&wit_options(&options)), options);
        }
    }

    #[test]
    fn errors_keep_kind_message_offset_and_function() {
        let error = library_error(wit::CompileError {
            kind: wit::ErrorKind::Limit,
            message: "too deep".into(),
            offset: Some(42),
            function: Some("run".into()),
        });
        assert_eq!(
            error,
            CompileError::limit("too deep").at(42).in_function("run")
        );
    }

    #[test]
    fn listing_kinds_map_to_the_library_kinds() {
        let line = |kind| wit::ListingLine {
            offset: 4,
            bytes: vec![0x70, 0x47],
            text: "bx lr".into(),
            wasm_offset: Some(7),
            kind,
            step: Some(3),
        };
        let output = library_output(wit::Output {
            object: vec![1, 2, 3],
            header: "h".into(),
            report: wit::Report {
                target: "cortex-m3".into(),
                functions: vec![wit::FunctionReport {
                    name: "f".into(),
                    symbol: "f".into(),
                    code_size: 2,
                    spills: 1,
                    reloads: 2,
                    moves: 3,
                    remats: 4,
                    max_pressure: 5,
                    frame_size: 6,
                    indirect: true,
                    listing: [
                        wit::LineKind::Code,
                        wit::LineKind::Spill,
                        wit::LineKind::Reload,
                        wit::LineKind::Move,
                        wit::LineKind::Remat,
                        wit::LineKind::Data,
                    ]
                    .into_iter()
                    .map(line)
                    .collect(),
                    allocation: None,
                }],
                footprint: wit::Footprint {
                    text: 7,
                    rodata: 8,
                    data: 9,
                    bss: 10,
                },
                tables: vec![wit::TableReport {
                    name: "t".into(),
                    symbol: "synth_table_t".into(),
                    element_type: "funcref".into(),
                    size: 2,
                    capacity: 3,
                    functions: vec!["f".into()],
                    null_entries: 1,
                }],
            },
        });
        let t = &output.report.tables[0];
        assert_eq!(
            (t.name.as_str(), t.size, t.capacity, t.null_entries),
            ("t", 2, 3, 1)
        );
        assert_eq!(t.functions, ["f"]);
        assert!(output.report.functions[0].indirect);
        let f = output.report.footprint;
        assert_eq!((f.text, f.rodata, f.data, f.bss), (7, 8, 9, 10));
        let function = &output.report.functions[0];
        let kinds: Vec<LineKind> = function.listing.iter().map(|l| l.kind).collect();
        assert_eq!(
            kinds,
            [
                LineKind::Code,
                LineKind::Edit(EditKind::Spill),
                LineKind::Edit(EditKind::Reload),
                LineKind::Edit(EditKind::Move),
                LineKind::Edit(EditKind::Remat),
                LineKind::Data
            ]
        );
        assert_eq!(
            (function.spills, function.reloads, function.moves),
            (1, 2, 3)
        );
        assert_eq!(
            (function.remats, function.max_pressure, function.frame_size),
            (4, 5, 6)
        );
        assert_eq!(function.listing[0].wasm_offset, Some(7));
        assert_eq!(output.object, [1, 2, 3]);
    }
}
