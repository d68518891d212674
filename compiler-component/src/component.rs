//! The WIT glue of `synth.wasm`: exports the `synth:compiler/compile` interface (`wit/synth.wit`)
//! by mapping its types to and from the library's. Only built for wasm32; the command-line side
//! of the component (`wasi:cli/run`) is the ordinary `main`.

use synth_compiler::isa::LineKind;
use synth_compiler::regalloc::EditKind;
use synth_compiler::report::allocation::AllocationReport as LibAllocationReport;
use synth_compiler::report::{
    FunctionReport as LibFunctionReport, Report as LibReport, TableReport as LibTableReport,
};
use synth_compiler::{CompileError as LibCompileError, ErrorKind as LibErrorKind};

wit_bindgen::generate!({
    path: "../wit",
    world: "synth",
});

use exports::synth::compiler::compile as wit;
use exports::synth::compiler::compile::{
    CompileError, ErrorKind, Footprint, FunctionReport, Guest, LineKind as WitLineKind,
    ListingLine, Options, Output, Report, SourcePoint, TableReport, Target, TargetInfo,
};

struct SynthComponent;

export!(SynthComponent);

impl Guest for SynthComponent {
    fn compile(input: Vec<u8>, options: Options) -> Result<Output, CompileError> {
        let options = library_options(&options);
        let output = synth_compiler::compile(&input, &options).map_err(wit_error)?;
        Ok(Output {
            object: output.object,
            header: output.header,
            report: wit_report(output.report),
        })
    }

    fn default_options(target: Target) -> Options {
        wit_options(&synth_compiler::Options::new(library_target(target)))
    }

    fn targets() -> Vec<TargetInfo> {
        synth_compiler::Target::ALL
            .into_iter()
            .map(|target| TargetInfo {
                target: wit_target(target),
                name: target.name().to_string(),
                description: target.description().to_string(),
            })
            .collect()
    }

    fn source_map(input: Vec<u8>) -> Vec<SourcePoint> {
        if input.starts_with(b"\0asm") {
            return Vec::new();
        }
        let Ok(text) = std::str::from_utf8(&input) else {
            return Vec::new();
        };
        synth_compiler::source_map::wat_source_map(text)
            .into_iter()
            .map(|p| SourcePoint {
                wasm_offset: p.offset,
                line: p.line,
            })
            .collect()
    }

    fn print_wat(wasm: Vec<u8>) -> Result<String, String> {
        synth_compiler::source_map::print_wat(&wasm)
    }
}

fn library_target(target: Target) -> synth_compiler::Target {
    match target {
        Target::CortexM3 => synth_compiler::Target::CortexM3,
        Target::CortexM4 => synth_compiler::Target::CortexM4,
        Target::CortexM4f => synth_compiler::Target::CortexM4F,
        Target::CortexM7 => synth_compiler::Target::CortexM7,
        Target::CortexM7dp => synth_compiler::Target::CortexM7DP,
        Target::Rv32imac => synth_compiler::Target::Rv32imac,
        Target::Rv32imafc => synth_compiler::Target::Rv32imafc,
    }
}

fn wit_target(target: synth_compiler::Target) -> Target {
    match target {
        synth_compiler::Target::CortexM3 => Target::CortexM3,
        synth_compiler::Target::CortexM4 => Target::CortexM4,
        synth_compiler::Target::CortexM4F => Target::CortexM4f,
        synth_compiler::Target::CortexM7 => Target::CortexM7,
        synth_compiler::Target::CortexM7DP => Target::CortexM7dp,
        synth_compiler::Target::Rv32imac => Target::Rv32imac,
        synth_compiler::Target::Rv32imafc => Target::Rv32imafc,
    }
}

/// Field by field (no `..` rest pattern), so a new library option fails to compile here until
/// the WIT record has it too.
fn library_options(options: &Options) -> synth_compiler::Options {
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
    synth_compiler::Options {
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

fn wit_options(options: &synth_compiler::Options) -> Options {
    let synth_compiler::Options {
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

fn wit_error(error: LibCompileError) -> CompileError {
    let kind = match error.kind {
        LibErrorKind::Malformed => ErrorKind::Malformed,
        LibErrorKind::Invalid => ErrorKind::Invalid,
        LibErrorKind::Unsupported => ErrorKind::Unsupported,
        LibErrorKind::Limit => ErrorKind::Limit,
        LibErrorKind::Options => ErrorKind::Options,
        LibErrorKind::Internal => ErrorKind::Internal,
    };
    CompileError {
        kind,
        message: error.message,
        offset: error.offset,
        function: error.function,
    }
}

fn wit_report(report: LibReport) -> Report {
    Report {
        target: report.target,
        functions: report
            .functions
            .into_iter()
            .map(wit_function_report)
            .collect(),
        footprint: Footprint {
            text: report.footprint.text,
            rodata: report.footprint.rodata,
            data: report.footprint.data,
            bss: report.footprint.bss,
        },
        tables: report.tables.into_iter().map(wit_table_report).collect(),
    }
}

fn wit_table_report(table: LibTableReport) -> TableReport {
    TableReport {
        name: table.name,
        symbol: table.symbol,
        element_type: table.element_type,
        size: table.size,
        capacity: table.capacity,
        functions: table.functions,
        null_entries: table.null_entries,
    }
}

fn wit_function_report(function: LibFunctionReport) -> FunctionReport {
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
                    LineKind::Code => WitLineKind::Code,
                    LineKind::Edit(EditKind::Spill) => WitLineKind::Spill,
                    LineKind::Edit(EditKind::Reload) => WitLineKind::Reload,
                    LineKind::Edit(EditKind::Move) => WitLineKind::Move,
                    LineKind::Edit(EditKind::Remat) => WitLineKind::Remat,
                    LineKind::Data => WitLineKind::Data,
                },
            })
            .collect(),
        allocation: function.allocation.map(wit_allocation),
    }
}

/// The allocation account, field by field (a new library field fails to compile here).
fn wit_allocation(account: LibAllocationReport) -> wit::AllocationReport {
    let LibAllocationReport {
        classes,
        values,
        ranges,
        pressure,
        blocks,
        notes,
        slots,
    } = account;
    wit::AllocationReport {
        classes: classes
            .into_iter()
            .map(|c| wit::RegisterClass {
                name: c.name,
                registers: c.registers,
            })
            .collect(),
        values: values
            .into_iter()
            .map(|v| wit::AllocationValue {
                name: v.name,
                origin: v.origin,
                class: v.class,
                wasm_offset: v.wasm_offset,
            })
            .collect(),
        ranges: ranges
            .into_iter()
            .map(|r| wit::LiveRange {
                value: r.value,
                location: r.location,
                first_line: r.first_line,
                end_line: r.end_line,
            })
            .collect(),
        pressure,
        blocks: blocks
            .into_iter()
            .map(|b| wit::AllocationBlock {
                label: b.label,
                first_line: b.first_line,
                end_line: b.end_line,
                max_pressure: b.max_pressure,
            })
            .collect(),
        notes: notes
            .into_iter()
            .map(|n| wit::AllocationNote {
                line: n.line,
                value: n.value,
                reason: n.reason,
                related_line: n.related_line,
            })
            .collect(),
        slots: slots
            .into_iter()
            .map(|s| wit::StackSlot {
                location: s.location,
                values: s.values,
            })
            .collect(),
    }
}
