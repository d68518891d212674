//! Phase two of a `.wast` run: execute a parsed script on one engine and count every assertion
//! as passed, failed, or skipped with a reason from the closed list (unsupported feature,
//! out-of-scope import, out-of-scope directive, out-of-scope value type).

use std::collections::{BTreeMap, BTreeSet};
use std::panic::{AssertUnwindSafe, catch_unwind};

use synth_compiler::ErrorKind;

use super::engine::{self, Artifact, CompileFailure, Engine, Instance, IrLink, panic_message};
use super::linkage::{ExternType, ModuleFacts, Provider, SPECTEST_WAT};
use super::linked::{self, Member, MemberKey, World};
use super::script::{Action, Command, Expect, ExpectedValue, Located, Script};
use crate::Outcome;
use crate::trap_code::STACK_EXHAUSTED;
use synth_compiler::Target;
use synth_compiler::ir::interp::{RefSpace, SharedInterp, SharedRefSpace};

/// The spectest host module's node in the IR engines' link graph (`Run::ir_links`).
const SPECTEST_NODE: usize = usize::MAX;

/// synth's trap message matches the expected one when it starts with it, or when the expected
/// one is synth's followed by an element index (the reference interpreter's "uninitialized
/// element 2").
fn trap_matches(actual: &str, expected: &str) -> bool {
    actual.starts_with(expected)
        || expected.strip_prefix(actual).is_some_and(|rest| {
            rest.strip_prefix(' ')
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
}

#[cfg(test)]
use crate::wasm_info::ValType;
use crate::wasm_info::Value;

/// How one assertion ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail(String),
    Skip(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub line: u32,
    pub message: String,
}

/// The counts of one script on one engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineReport {
    pub engine: Engine,
    pub passed: u32,
    pub failures: Vec<Failure>,
    /// Skip reason -> number of assertions skipped for it.
    pub skipped: BTreeMap<String, u32>,
}

impl EngineReport {
    pub fn new(engine: Engine) -> Self {
        EngineReport {
            engine,
            passed: 0,
            failures: Vec::new(),
            skipped: BTreeMap::new(),
        }
    }

    pub fn failed(&self) -> u32 {
        self.failures.len() as u32
    }

    pub fn skipped_total(&self) -> u32 {
        self.skipped.values().sum()
    }

    fn record(&mut self, line: u32, verdict: Verdict) {
        match verdict {
            Verdict::Pass => self.passed += 1,
            Verdict::Fail(message) => self.failures.push(Failure { line, message }),
            Verdict::Skip(reason) => *self.skipped.entry(histogram_key(&reason)).or_insert(0) += 1,
        }
    }
}

/// Skip reasons without their standalone numbers (type/function/global indices), so the same
/// cause counts under one key; `f32` or `i64` stay intact.
pub fn histogram_key(reason: &str) -> String {
    let mut key = String::with_capacity(reason.len());
    let mut chars = reason.chars().peekable();
    let mut previous: Option<char> = None;
    while let Some(c) = chars.next() {
        let standalone_start = c.is_ascii_digit() && !previous.is_some_and(|p| p.is_alphanumeric());
        if !standalone_start {
            key.push(c);
            previous = Some(c);
            continue;
        }
        let mut digits = String::from(c);
        while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
            digits.push(d);
            chars.next();
        }
        if chars.peek().is_some_and(|n| n.is_alphanumeric()) {
            key.push_str(&digits);
        } else {
            key.push('N');
        }
        previous = digits.chars().last();
    }
    key
}

enum SlotState<'a> {
    Live(Instance<'a>),
    /// Out of scope; assertions on it are skipped for this reason.
    Skipped(String),
    /// Failed to compile or instantiate; assertions on it fail.
    Broken(String),
}

struct ModuleSlot<'a> {
    state: SlotState<'a>,
    facts: ModuleFacts,
    /// The effective maximum of its own memory in pages (emulator: the buffer an importer of
    /// its memory may grow into).
    memory_max_pages: Option<u32>,
}

/// Run `script` on `engine`.
pub fn run_script(script: &Script, engine: Engine) -> EngineReport {
    // Compile first, so the instances can borrow their artifacts for the whole run (an
    // importer of a memory for its exporter's maximum, as the emulator does).
    // The emulator compiles in `define`, where it knows what the imports link to.
    let is_ir = !matches!(engine, Engine::Emulator(_));
    let caps = imported_memory_caps(script);
    let artifacts: Vec<Option<Result<Artifact, CompileFailure>>> = script
        .commands
        .iter()
        .zip(&caps)
        .map(|(located, cap)| match &located.command {
            Command::Module { wasm: Ok(wasm), .. }
            | Command::AssertInstantiationFails { wasm: Ok(wasm), .. }
                if is_ir =>
            {
                Some(engine::compile_with_max_pages(engine, wasm, *cap))
            }
            _ => None,
        })
        .collect();
    // The IR engines' spectest host module: the emulator's, run by the interpreter.
    let spectest = is_ir.then(|| match wat::parse_str(SPECTEST_WAT) {
        Ok(wasm) => engine::compile(engine, &wasm),
        Err(e) => Err(CompileFailure::Panic(format!("the spectest module: {e}"))),
    });
    let mut run = Run {
        engine,
        slots: Vec::new(),
        by_name: BTreeMap::new(),
        current: None,
        registered_slots: BTreeMap::new(),
        world: match engine {
            Engine::Emulator(target) => Some(World::new(target)),
            _ => None,
        },
        spectest_tainted: None,
        command_index: 0,
        spectest_artifact: spectest.as_ref(),
        spectest_interp: None,
        ir_links: Vec::new(),
        ref_space: RefSpace::shared(),
    };
    let mut report = EngineReport::new(engine);
    for (index, (located, artifact)) in script.commands.iter().zip(&artifacts).enumerate() {
        run.command_index = index;
        let verdict = catch_unwind(AssertUnwindSafe(|| run.step(located, artifact.as_ref())))
            .unwrap_or_else(|payload| {
                Some(Verdict::Fail(format!(
                    "panicked: {}",
                    panic_message(payload.as_ref())
                )))
            });
        if let Some(verdict) = verdict {
            report.record(located.line, verdict);
        }
    }
    run.ref_space.borrow_mut().release_instances();
    report
}

struct Run<'a> {
    engine: Engine,
    slots: Vec<ModuleSlot<'a>>,
    by_name: BTreeMap<String, usize>,
    current: Option<usize>,
    /// Registered name -> the instance it names.
    registered_slots: BTreeMap<String, usize>,
    /// The emulator's linked program (`None` on the IR engines).
    world: Option<World>,
    /// Why the spectest memory or table holds unknown data (a module that writes into them
    /// was skipped).
    spectest_tainted: Option<String>,
    /// The index of the command running (names its module's namespace).
    command_index: usize,
    /// IR engines: the spectest host module, compiled, and instantiated once a module links it.
    spectest_artifact: Option<&'a Result<Artifact, CompileFailure>>,
    spectest_interp: Option<SharedInterp<'a>>,
    /// IR engines: which instances link to which (slots, `SPECTEST_NODE`): the state they share.
    ir_links: Vec<(usize, usize)>,
    /// IR engines: the reference space of every instance of the script (one linked program).
    ref_space: SharedRefSpace<'a>,
}

/// Does a compile error mean "out of scope" (skip) or a bug (fail)?
fn unsupported_reason(failure: &CompileFailure) -> Option<String> {
    match failure {
        CompileFailure::Error(e) if e.kind == ErrorKind::Unsupported => {
            Some(format!("unsupported: {}", e.message))
        }
        _ => None,
    }
}

fn is_bug(failure: &CompileFailure) -> bool {
    match failure {
        CompileFailure::Error(e) => e.kind == ErrorKind::Internal,
        CompileFailure::Panic(_) => true,
    }
}

impl<'a> Run<'a> {
    /// One command; `None` for commands that assert nothing (`register`).
    fn step(
        &mut self,
        located: &Located,
        artifact: Option<&'a Result<Artifact, CompileFailure>>,
    ) -> Option<Verdict> {
        match &located.command {
            Command::Module { name, wasm } => {
                let (state, verdict) = match wasm {
                    Ok(wasm) => self.define(wasm, artifact),
                    Err(e) => {
                        let message = format!("the module text does not encode: {e}");
                        (SlotState::Broken(message.clone()), Verdict::Fail(message))
                    }
                };
                let facts = wasm
                    .as_ref()
                    .ok()
                    .and_then(|w| ModuleFacts::parse(w).ok())
                    .unwrap_or_default();
                let memory_max_pages = match (self.engine, wasm) {
                    (Engine::Emulator(target), Ok(wasm)) => own_memory_max_pages(target, wasm),
                    _ => None,
                };
                self.slots.push(ModuleSlot {
                    state,
                    facts,
                    memory_max_pages,
                });
                let index = self.slots.len() - 1;
                self.current = Some(index);
                if let Some(name) = name {
                    self.by_name.insert(name.clone(), index);
                }
                Some(verdict)
            }
            Command::Register { as_name, module } => {
                let slot = match module {
                    Some(name) => self.by_name.get(name).copied(),
                    None => self.current,
                };
                if let Some(slot) = slot {
                    self.registered_slots.insert(as_name.clone(), slot);
                }
                None
            }
            Command::Execute { action, expect } => Some(self.execute(action, expect)),
            Command::AssertRejected {
                directive,
                wasm,
                message,
            } => Some(self.assert_rejected(directive, wasm, message)),
            Command::AssertInstantiationFails {
                directive,
                wasm,
                message,
            } => Some(match wasm {
                Ok(wasm) => self.assert_instantiation_fails(directive, wasm, message, artifact),
                Err(e) => Verdict::Fail(format!("the module text does not encode: {e}")),
            }),
            Command::OutOfScope { directive } => {
                Some(Verdict::Skip(format!("directive: {directive}")))
            }
        }
    }

    /// A module skipped for its imports may have acted on the instances it imports from (data
    /// or elements into their memory or table, a start function calling them): what those hold
    /// from then on is unknown, so assertions on them are skipped too.
    fn taint_exporters(&mut self, importer: &ModuleFacts) {
        for import in &importer.imports {
            let writes_into = matches!(
                import.kind,
                ExternType::Memory { .. } | ExternType::Table { .. }
            );
            if !writes_into && !importer.has_start {
                continue;
            }
            if import.module == "spectest" && writes_into {
                self.spectest_tainted = Some(format!(
                    "import: spectest.{} was written by a module skipped for its imports",
                    import.name
                ));
            }
            let reason = format!(
                "import: shares state with a module skipped for its imports (`{}`)",
                import.module
            );
            // In the emulator, every instance linked with the exporter sees its state.
            let exporter = match import.module.as_str() {
                "spectest" => Some(MemberKey::Spectest),
                module => self.registered_slots.get(module).and_then(|slot| {
                    match self.slots.get(*slot).map(|s| &s.state) {
                        Some(SlotState::Live(Instance::Linked(key))) => Some(*key),
                        _ => None,
                    }
                }),
            };
            if let (Some(world), Some(exporter)) = (&self.world, exporter) {
                let group = world.group_members(exporter);
                for slot in &mut self.slots {
                    if let SlotState::Live(Instance::Linked(key)) = slot.state
                        && group.contains(&key)
                    {
                        slot.state = SlotState::Skipped(reason.clone());
                    }
                }
                continue;
            }
            // In the interpreter, every instance linked with the exporter, directly or not.
            let start = match import.module.as_str() {
                "spectest" => Some(SPECTEST_NODE),
                module => self.registered_slots.get(module).copied(),
            };
            let Some(start) = start else { continue };
            let mut group = BTreeSet::from([start]);
            let mut grew = true;
            while grew {
                grew = false;
                for &(a, b) in &self.ir_links {
                    if group.contains(&a) != group.contains(&b) {
                        group.insert(a);
                        group.insert(b);
                        grew = true;
                    }
                }
            }
            for slot in group {
                if let Some(member) = self.slots.get_mut(slot)
                    && matches!(member.state, SlotState::Live(_))
                {
                    member.state = SlotState::Skipped(reason.clone());
                }
            }
        }
    }

    /// Compile, link and instantiate a `module`.
    fn define(
        &mut self,
        wasm: &[u8],
        artifact: Option<&'a Result<Artifact, CompileFailure>>,
    ) -> (SlotState<'a>, Verdict) {
        let broken = |message: String| (SlotState::Broken(message.clone()), Verdict::Fail(message));
        let facts = match ModuleFacts::parse(wasm) {
            Ok(facts) => facts,
            Err(e) => return broken(format!("cannot read the module's imports: {e}")),
        };
        let (linked, instance) = if self.world.is_some() {
            let key = MemberKey::Slot(self.command_index);
            (
                self.instantiate_linked(wasm, &facts),
                Some(Instance::Linked(key)),
            )
        } else {
            self.instantiate_ir(&facts, artifact, true)
        };
        match linked {
            Linked::Instantiated(Outcome::Returned(_)) => match instance {
                Some(instance) => (SlotState::Live(instance), Verdict::Pass),
                None => broken("internal: no instance".to_string()),
            },
            Linked::Instantiated(Outcome::Trapped(code)) => broken(format!(
                "instantiation trapped: {} (code {code})",
                engine::trap_message(code)
            )),
            Linked::Skipped(reason) => (SlotState::Skipped(reason.clone()), Verdict::Skip(reason)),
            Linked::Unlinkable(reason) => broken(format!("the module does not link: {reason}")),
            Linked::Rejected(e) => broken(format!("a valid module was rejected: {e}")),
            Linked::Broken(message) => broken(message),
        }
    }

    fn execute(&mut self, action: &Action, expect: &Expect) -> Verdict {
        let module = match action {
            Action::Invoke { module, .. } | Action::Get { module, .. } => module,
        };
        let index = match module {
            Some(name) => self.by_name.get(name).copied(),
            None => self.current,
        };
        let Some(slot) = index.and_then(|i| self.slots.get_mut(i)) else {
            return Verdict::Fail(format!(
                "no module {}",
                module.as_deref().unwrap_or("defined")
            ));
        };
        let instance = match &mut slot.state {
            SlotState::Live(Instance::Linked(key)) => {
                let key = *key;
                let facts = slot.facts.clone();
                return self.execute_linked(key, &facts, action, expect);
            }
            SlotState::Live(instance) => instance,
            SlotState::Skipped(reason) => return Verdict::Skip(reason.clone()),
            SlotState::Broken(message) => {
                return Verdict::Fail(format!("the module is unusable: {message}"));
            }
        };
        if let Expect::Return(Err(ty)) = expect {
            return Verdict::Skip(format!("type: {ty} value in the assertion"));
        }
        let outcome = match action {
            Action::Invoke { name, args, .. } => {
                let args = match args {
                    Ok(args) => args,
                    Err(ty) => return Verdict::Skip(format!("type: {ty} value in the assertion")),
                };
                instance.invoke(name, args)
            }
            Action::Get { global, .. } => match slot.facts.exported_global(global) {
                Some(index) => instance
                    .global(global, index)
                    .map(|value| Outcome::Returned(vec![value])),
                None => Err(format!("the module exports no global `{global}`")),
            },
        };
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(e) => return Verdict::Fail(e),
        };
        judge(expect, &outcome)
    }

    fn assert_rejected(
        &self,
        directive: &str,
        wasm: &Result<Vec<u8>, String>,
        message: &str,
    ) -> Verdict {
        // Text the wast crate cannot even encode never reaches synth: rejected.
        let Ok(wasm) = wasm else {
            return Verdict::Pass;
        };
        match engine::compile(self.engine, wasm) {
            Ok(_) => Verdict::Fail(format!(
                "{directive}: the module was accepted (expected \"{message}\")"
            )),
            Err(failure) if is_bug(&failure) => Verdict::Fail(format!(
                "{directive}: rejected by a bug, not a check (expected \"{message}\"): {failure}"
            )),
            Err(_) => Verdict::Pass,
        }
    }

    fn assert_instantiation_fails(
        &mut self,
        directive: &str,
        wasm: &[u8],
        message: &str,
        artifact: Option<&'a Result<Artifact, CompileFailure>>,
    ) -> Verdict {
        let expects_trap = directive == "assert_trap";
        let facts = match ModuleFacts::parse(wasm) {
            Ok(facts) => facts,
            Err(e) => return Verdict::Fail(format!("cannot read the module's imports: {e}")),
        };
        let linked = if self.world.is_some() {
            self.instantiate_linked(wasm, &facts)
        } else {
            self.instantiate_ir(&facts, artifact, false).0
        };
        match linked {
            Linked::Instantiated(Outcome::Trapped(code)) => {
                let actual = engine::trap_message(code);
                if !expects_trap || trap_matches(actual, message) {
                    Verdict::Pass
                } else {
                    Verdict::Fail(format!(
                        "instantiation trapped with \"{actual}\" (code {code}), expected \"{message}\""
                    ))
                }
            }
            Linked::Instantiated(Outcome::Returned(_)) => Verdict::Fail(format!(
                "{directive}: the module instantiated (expected \"{message}\")"
            )),
            Linked::Skipped(reason) => Verdict::Skip(reason),
            Linked::Unlinkable(reason) if expects_trap => Verdict::Fail(format!(
                "expected the instantiation to trap with \"{message}\", but it does not link: {reason}"
            )),
            Linked::Unlinkable(_) => Verdict::Pass,
            // A rejected module cannot be instantiated either.
            Linked::Rejected(_) if !expects_trap => Verdict::Pass,
            Linked::Rejected(e) | Linked::Broken(e) => Verdict::Fail(format!("{directive}: {e}")),
        }
    }
}

/// How adding a module to the linked program (emulator) or linking its interpreter ended.
enum Linked {
    Instantiated(Outcome),
    Skipped(String),
    Unlinkable(String),
    /// synth rejected the module (not as unsupported, not by a bug).
    Rejected(String),
    Broken(String),
}

impl<'a> Run<'a> {
    /// The IR engines' instantiation: resolve the imports as the emulator does, link the
    /// interpreter to the exporters' (spectest's, instantiated on first use) and run its
    /// initializer. `define`: the instance becomes the next slot (its links are recorded).
    fn instantiate_ir(
        &mut self,
        facts: &ModuleFacts,
        artifact: Option<&'a Result<Artifact, CompileFailure>>,
        define: bool,
    ) -> (Linked, Option<Instance<'a>>) {
        // Skipped or unusable exporters decide first: they would not link anyway.
        for import in &facts.imports {
            if let Some(slot) = self.registered_slots.get(&import.module).copied() {
                match self.slots.get(slot).map(|s| &s.state) {
                    Some(SlotState::Live(_)) => {}
                    Some(SlotState::Skipped(reason)) => {
                        let reason = reason.clone();
                        self.taint_exporters(facts);
                        return (Linked::Skipped(reason), None);
                    }
                    Some(SlotState::Broken(message)) => {
                        let message = format!("imports from an unusable module: {message}");
                        return (Linked::Broken(message), None);
                    }
                    None => return (Linked::Broken("internal: no such instance".into()), None),
                }
            }
            if import.module == "spectest"
                && !matches!(import.kind, ExternType::Function { .. })
                && let Some(reason) = &self.spectest_tainted
            {
                return (Linked::Skipped(reason.clone()), None);
            }
        }
        let registered = |name: &str| {
            let slot = *self.registered_slots.get(name)?;
            Some((slot, self.slots.get(slot)?.facts.clone()))
        };
        let current_size = |provider: &Provider, name: &str| -> Option<u64> {
            let (export, interp) = match provider {
                Provider::Spectest => (
                    super::linkage::spectest_export(name)?,
                    self.spectest_interp.clone()?,
                ),
                Provider::Instance(slot) => {
                    let slot = self.slots.get(*slot)?;
                    let SlotState::Live(instance) = &slot.state else {
                        return None;
                    };
                    (slot.facts.export(name)?.clone(), instance.shared_interp()?)
                }
                Provider::HostFunction => return None,
            };
            let interp = interp.borrow();
            match export {
                ExternType::Memory { .. } => Some(u64::from(interp.memory_bytes()) / 65536),
                ExternType::Table { .. } => interp.exported_table_size(name).map(u64::from),
                _ => None,
            }
        };
        let providers = match facts.resolve(&registered, &current_size) {
            Ok(providers) => providers,
            Err(reason) => return (Linked::Unlinkable(reason), None),
        };
        let artifact = match artifact {
            Some(Ok(artifact)) => artifact,
            Some(Err(failure)) => {
                if let Some(reason) = unsupported_reason(failure) {
                    self.taint_exporters(facts);
                    return (Linked::Skipped(reason), None);
                }
                let linked = if is_bug(failure) {
                    Linked::Broken(format!("rejected by a bug: {failure}"))
                } else {
                    Linked::Rejected(failure.to_string())
                };
                return (linked, None);
            }
            None => {
                return (
                    Linked::Broken("internal: the module was not compiled".into()),
                    None,
                );
            }
        };
        let mut links: Vec<IrLink<'a>> = Vec::new();
        let mut nodes = Vec::new();
        for (import, provider) in facts.imports.iter().zip(&providers) {
            if links.iter().any(|link| link.module == import.module) {
                continue;
            }
            let (interp, node) = match provider {
                Provider::HostFunction => continue,
                Provider::Spectest => match self.spectest_instance() {
                    Ok(interp) => (interp, SPECTEST_NODE),
                    Err(e) => return (Linked::Broken(e), None),
                },
                Provider::Instance(slot) => {
                    let interp = match self.slots.get(*slot).map(|s| &s.state) {
                        Some(SlotState::Live(instance)) => instance.shared_interp(),
                        _ => None,
                    };
                    match interp {
                        Some(interp) => (interp, *slot),
                        None => return (Linked::Broken("internal: no interpreter".into()), None),
                    }
                }
            };
            links.push(IrLink {
                module: import.module.clone(),
                exporter: interp,
                host_functions: node == SPECTEST_NODE,
            });
            nodes.push(node);
        }
        match Instance::new_linked(artifact, &links, &self.ref_space) {
            Ok((instance, outcome)) => {
                if define && matches!(outcome, Outcome::Returned(_)) {
                    let slot = self.slots.len();
                    self.ir_links
                        .extend(nodes.into_iter().map(|node| (slot, node)));
                }
                (Linked::Instantiated(outcome), Some(instance))
            }
            Err(e) => (Linked::Broken(format!("instantiation failed: {e}")), None),
        }
    }

    /// The IR engines' spectest instance, instantiated on first use.
    fn spectest_instance(&mut self) -> Result<SharedInterp<'a>, String> {
        if let Some(interp) = &self.spectest_interp {
            return Ok(interp.clone());
        }
        let artifact = match self.spectest_artifact {
            Some(Ok(artifact)) => artifact,
            Some(Err(e)) => return Err(format!("the spectest module: {e}")),
            None => return Err("internal: no spectest module".into()),
        };
        match Instance::new_linked(artifact, &[], &self.ref_space) {
            Ok((instance, Outcome::Returned(_))) => {
                let interp = instance
                    .shared_interp()
                    .ok_or("internal: the spectest module is no interpreter")?;
                self.spectest_interp = Some(interp.clone());
                Ok(interp)
            }
            Ok((_, other)) => Err(format!("the spectest module: {other:?}")),
            Err(e) => Err(format!("the spectest module: {e}")),
        }
    }
}

/// For each command, the maximum in pages of the memory its module imports: its exporter's
/// (spectest's 2 pages), as the emulator compiles an importer. The IR engines compile every
/// module up front, so this follows the script's `register`s statically.
fn imported_memory_caps(script: &Script) -> Vec<Option<u32>> {
    let mut by_name = BTreeMap::new();
    let mut current = None;
    let mut registered: BTreeMap<&str, usize> = BTreeMap::new();
    let mut caps = Vec::with_capacity(script.commands.len());
    for (index, located) in script.commands.iter().enumerate() {
        let mut cap = None;
        match &located.command {
            Command::Module { name, wasm } => {
                if let Ok(wasm) = wasm {
                    cap = imported_memory_cap(script, wasm, &registered);
                }
                current = Some(index);
                if let Some(name) = name {
                    by_name.insert(name.as_str(), index);
                }
            }
            Command::AssertInstantiationFails { wasm: Ok(wasm), .. } => {
                cap = imported_memory_cap(script, wasm, &registered);
            }
            Command::Register { as_name, module } => {
                let exporter = match module {
                    Some(name) => by_name.get(name.as_str()).copied(),
                    None => current,
                };
                if let Some(exporter) = exporter {
                    registered.insert(as_name.as_str(), exporter);
                }
            }
            _ => {}
        }
        caps.push(cap);
    }
    caps
}

fn imported_memory_cap(
    script: &Script,
    wasm: &[u8],
    registered: &BTreeMap<&str, usize>,
) -> Option<u32> {
    let facts = ModuleFacts::parse(wasm).ok()?;
    let import = facts
        .imports
        .iter()
        .find(|i| matches!(i.kind, ExternType::Memory { .. }))?;
    if import.module == "spectest" {
        return Some(2);
    }
    let exporter = *registered.get(import.module.as_str())?;
    match &script.commands.get(exporter)?.command {
        Command::Module {
            wasm: Ok(exporter), ..
        } => own_memory_max_pages(Target::CortexM3, exporter),
        _ => None,
    }
}

/// The effective maximum, in pages, of the memory `wasm` defines (not imports), compiled with
/// the spec options for `target`.
fn own_memory_max_pages(target: Target, wasm: &[u8]) -> Option<u32> {
    let mut memory = None;
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        if let Ok(wasmparser::Payload::MemorySection(reader)) = payload {
            memory = reader.into_iter().flatten().last();
        }
    }
    let memory = memory?;
    let max = engine::spec_options(target, wasm).memory_max_pages(memory.initial, memory.maximum);
    u32::try_from(max).ok()
}

/// A wasmparser value type as the harness's (`None`: v128 or another reference type).
fn harness_type(ty: wasmparser::ValType) -> Option<crate::wasm_info::ValType> {
    use crate::wasm_info::ValType as T;
    Some(match ty {
        wasmparser::ValType::I32 => T::I32,
        wasmparser::ValType::I64 => T::I64,
        wasmparser::ValType::F32 => T::F32,
        wasmparser::ValType::F64 => T::F64,
        wasmparser::ValType::Ref(r) if r == wasmparser::RefType::FUNCREF => T::FuncRef,
        wasmparser::ValType::Ref(r) if r == wasmparser::RefType::EXTERNREF => T::ExternRef,
        _ => return None,
    })
}

fn show(values: &[Value]) -> String {
    let shown: Vec<String> = values.iter().map(|v| v.to_string()).collect();
    format!("[{}]", shown.join(", "))
}

impl Run<'_> {
    /// The member an instance slot is in the linked program, or why it cannot be imported from.
    fn linked_member(&self, slot: usize) -> Result<MemberKey, Linked> {
        match self.slots.get(slot).map(|s| &s.state) {
            Some(SlotState::Live(Instance::Linked(key))) => Ok(*key),
            Some(SlotState::Skipped(reason)) => Err(Linked::Skipped(reason.clone())),
            Some(SlotState::Broken(message)) => Err(Linked::Broken(format!(
                "imports from an unusable module: {message}"
            ))),
            _ => Err(Linked::Broken("internal: no such instance".into())),
        }
    }

    /// Link a module into the emulator's program and run its initializer: resolve its imports
    /// (spectest or registered instances), compile it with its own namespace, add the spectest
    /// host module when it is first needed, and merge it with the instances it imports from.
    fn instantiate_linked(&mut self, wasm: &[u8], facts: &ModuleFacts) -> Linked {
        let Engine::Emulator(target) = self.engine else {
            return Linked::Broken("internal: linking outside the emulator".into());
        };
        // Skipped or unusable exporters decide first: they would not link anyway.
        for import in &facts.imports {
            if let Some(slot) = self.registered_slots.get(&import.module).copied()
                && let Err(linked) = self.linked_member(slot)
            {
                if let Linked::Skipped(_) = linked {
                    self.taint_exporters(facts);
                }
                return linked;
            }
            if import.module == "spectest"
                && !matches!(import.kind, ExternType::Function { .. })
                && let Some(reason) = &self.spectest_tainted
            {
                return Linked::Skipped(reason.clone());
            }
        }
        let world = self.world.as_ref();
        let registered = |name: &str| {
            let slot = *self.registered_slots.get(name)?;
            Some((slot, self.slots.get(slot)?.facts.clone()))
        };
        let current_size = |provider: &Provider, name: &str| -> Option<u64> {
            let (key, export) = match provider {
                Provider::Spectest => (MemberKey::Spectest, super::linkage::spectest_export(name)?),
                Provider::Instance(slot) => {
                    let slot_state = self.slots.get(*slot)?;
                    let SlotState::Live(Instance::Linked(key)) = slot_state.state else {
                        return None;
                    };
                    (key, slot_state.facts.export(name)?.clone())
                }
                Provider::HostFunction => return None,
            };
            let is_memory = matches!(export, ExternType::Memory { .. });
            let word = u64::from(world?.size_word(key, name, is_memory)?);
            Some(if is_memory { word / 65536 } else { word })
        };
        let providers = match facts.resolve(&registered, &current_size) {
            Ok(providers) => providers,
            Err(reason) => return Linked::Unlinkable(reason),
        };
        // An imported memory may grow only as far as its exporter's buffer.
        let mut max_memory_pages = None;
        let mut aliases = Vec::new();
        let mut joins = Vec::new();
        for (import, provider) in facts.imports.iter().zip(&providers) {
            let exporter_max = match provider {
                Provider::HostFunction => continue,
                Provider::Spectest => {
                    joins.push(MemberKey::Spectest);
                    Some(2)
                }
                Provider::Instance(slot) => {
                    let key = match self.linked_member(*slot) {
                        Ok(key) => key,
                        Err(linked) => return linked,
                    };
                    let Some(exporter_namespace) =
                        self.world.as_ref().and_then(|w| w.namespace(key))
                    else {
                        return Linked::Broken("internal: the exporter is not linked".into());
                    };
                    let symbol = format!(
                        "{}_{}",
                        synth_compiler::ir::names::mangle(&import.module),
                        synth_compiler::ir::names::mangle(&import.name)
                    );
                    let kind = match import.kind {
                        ExternType::Function { .. } => "function",
                        ExternType::Global { .. } => "global",
                        ExternType::Memory { .. } => "memory",
                        _ => "table",
                    };
                    let target_symbol =
                        linked::export_symbol(exporter_namespace.as_deref(), kind, &import.name);
                    if matches!(import.kind, ExternType::Memory { .. }) {
                        aliases.push((format!("{symbol}_bytes"), format!("{target_symbol}_bytes")));
                    }
                    aliases.push((symbol, target_symbol));
                    joins.push(key);
                    self.slots.get(*slot).and_then(|s| s.memory_max_pages)
                }
            };
            if matches!(import.kind, ExternType::Memory { .. }) {
                max_memory_pages = exporter_max;
            }
        }
        let mut namespace = Some(linked::slot_namespace(self.command_index));
        let mut compiled =
            engine::compile_namespaced(target, wasm, namespace.as_deref(), max_memory_pages);
        // An export named like one of the namespace's own symbols (`init`): the legacy naming.
        if let Err(CompileFailure::Error(e)) = &compiled
            && e.message.contains("would name both")
        {
            namespace = None;
            compiled = engine::compile_namespaced(target, wasm, None, max_memory_pages);
        }
        let object = match compiled {
            Ok(object) => object,
            Err(failure) => {
                if let Some(reason) = unsupported_reason(&failure) {
                    self.taint_exporters(facts);
                    return Linked::Skipped(reason);
                }
                return if is_bug(&failure) {
                    Linked::Broken(format!("rejected by a bug: {failure}"))
                } else {
                    Linked::Rejected(failure.to_string())
                };
            }
        };
        let info = match &namespace {
            Some(ns) => crate::wasm_info::ModuleInfo::parse_namespaced(wasm, ns),
            None => crate::wasm_info::ModuleInfo::parse_allowing_unused_types(wasm),
        };
        let info = match info {
            Ok(info) => info,
            Err(e) => return Linked::Broken(format!("cannot read the module: {}", e.message)),
        };
        let Some(world) = self.world.as_mut() else {
            return Linked::Broken("internal: no linked program".into());
        };
        if joins.contains(&MemberKey::Spectest) && !world.contains(MemberKey::Spectest) {
            let spectest = match engine::compile_namespaced(
                target,
                SPECTEST_WAT.as_bytes(),
                Some("spectest"),
                None,
            )
            .map_err(|e| e.to_string())
            .and_then(|object| {
                let info = crate::wasm_info::ModuleInfo::parse_namespaced(
                    &wat::parse_str(SPECTEST_WAT).map_err(|e| e.to_string())?,
                    "spectest",
                )
                .map_err(|e| e.message)?;
                Ok(Member {
                    namespace: Some("spectest".into()),
                    object,
                    info,
                    aliases: Vec::new(),
                })
            }) {
                Ok(member) => member,
                Err(e) => return Linked::Broken(format!("the spectest module: {e}")),
            };
            match world.instantiate(MemberKey::Spectest, spectest, &[]) {
                Ok(Outcome::Returned(_)) => {}
                Ok(other) => return Linked::Broken(format!("the spectest module: {other:?}")),
                Err(e) => return Linked::Broken(format!("the spectest module: {e}")),
            }
        }
        aliases.extend(super::linkage::reexport_aliases(
            facts,
            namespace.as_deref(),
        ));
        let member = Member {
            namespace,
            object,
            info,
            aliases,
        };
        match world.instantiate(MemberKey::Slot(self.command_index), member, &joins) {
            Ok(outcome) => Linked::Instantiated(outcome),
            Err(e) => Linked::Broken(format!("linking the module: {e}")),
        }
    }

    /// An action on a member of the linked program.
    fn execute_linked(
        &mut self,
        key: MemberKey,
        facts: &ModuleFacts,
        action: &Action,
        expect: &Expect,
    ) -> Verdict {
        if let Expect::Return(Err(ty)) = expect {
            return Verdict::Skip(format!("type: {ty} value in the assertion"));
        }
        let Some(world) = self.world.as_mut() else {
            return Verdict::Fail("internal: no linked program".into());
        };
        let outcome = match action {
            Action::Invoke { name, args, .. } => {
                let args = match args {
                    Ok(args) => args,
                    Err(ty) => return Verdict::Skip(format!("type: {ty} value in the assertion")),
                };
                world.invoke(key, name, args)
            }
            Action::Get { global, .. } => match facts.export(global) {
                Some(ExternType::Global { ty, .. }) => match harness_type(*ty) {
                    Some(ty) => world
                        .global(key, global, ty)
                        .map(|value| Outcome::Returned(vec![value])),
                    None => return Verdict::Skip(format!("type: {ty} value in the assertion")),
                },
                _ => Err(format!("the module exports no global `{global}`")),
            },
        };
        match outcome {
            Ok(outcome) => judge(expect, &outcome),
            Err(e) => Verdict::Fail(e),
        }
    }
}

fn show_expected(values: &[ExpectedValue]) -> String {
    let shown: Vec<String> = values.iter().map(|v| v.to_string()).collect();
    format!("[{}]", shown.join(", "))
}

fn describe(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Returned(values) => format!("returned {}", show(values)),
        Outcome::Trapped(code) => {
            format!("trapped \"{}\" (code {code})", engine::trap_message(*code))
        }
    }
}

/// Compare an outcome with what the assertion expects.
pub fn judge(expect: &Expect, outcome: &Outcome) -> Verdict {
    let ok = match (expect, outcome) {
        (Expect::Completes, Outcome::Returned(_)) => true,
        (Expect::Return(Ok(expected)), Outcome::Returned(actual)) => {
            expected.len() == actual.len()
                && expected.iter().zip(actual).all(|(e, a)| e.matches(*a))
        }
        (Expect::Return(Err(ty)), _) => {
            return Verdict::Skip(format!("type: {ty} value in the assertion"));
        }
        (Expect::Trap(message), Outcome::Trapped(code)) => {
            trap_matches(engine::trap_message(*code), message)
        }
        (Expect::Exhaustion(_), Outcome::Trapped(code)) => *code == STACK_EXHAUSTED,
        _ => false,
    };
    if ok {
        return Verdict::Pass;
    }
    let wanted = match expect {
        Expect::Completes => "to complete".to_string(),
        Expect::Return(Ok(expected)) => show_expected(expected),
        Expect::Return(Err(_)) => String::new(),
        Expect::Trap(message) => format!("trap \"{message}\""),
        Expect::Exhaustion(message) => format!("exhaustion \"{message}\""),
    };
    Verdict::Fail(format!("expected {wanted}, {}", describe(outcome)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::script;
    use synth_compiler::Target;

    #[test]
    fn histogram_keys_drop_indices_but_keep_type_names() {
        assert_eq!(
            histogram_key("unsupported: type 12 uses `f32`, which is not supported"),
            "unsupported: type N uses `f32`, which is not supported"
        );
        assert_eq!(
            histogram_key("operator `i64.trunc_f64_s` at 0x3f"),
            "operator `i64.trunc_f64_s` at 0x3f"
        );
        assert_eq!(histogram_key("global 3"), "global N");
    }

    #[test]
    fn judge_compares_values_types_and_trap_messages() {
        let returns =
            |v: Vec<Value>| Expect::Return(Ok(v.into_iter().map(ExpectedValue::Exact).collect()));
        let one = Outcome::Returned(vec![Value::I32(1)]);
        assert_eq!(judge(&returns(vec![Value::I32(1)]), &one), Verdict::Pass);
        assert!(matches!(
            judge(&returns(vec![Value::I64(1)]), &one),
            Verdict::Fail(_)
        ));
        assert!(matches!(judge(&returns(vec![]), &one), Verdict::Fail(_)));
        assert!(matches!(
            judge(&returns(vec![Value::I32(1)]), &Outcome::Trapped(1)),
            Verdict::Fail(_)
        ));
        let trap = |m: &str| Expect::Trap(m.to_string());
        assert_eq!(
            judge(&trap("unreachable"), &Outcome::Trapped(1)),
            Verdict::Pass
        );
        assert_eq!(
            judge(&trap("out of bounds memory access"), &Outcome::Trapped(2)),
            Verdict::Pass
        );
        assert!(matches!(
            judge(&trap("unreachable"), &Outcome::Trapped(2)),
            Verdict::Fail(_)
        ));
        assert!(matches!(
            judge(&trap("unreachable"), &one),
            Verdict::Fail(_)
        ));
        let exhaustion = Expect::Exhaustion("call stack exhausted".into());
        assert_eq!(judge(&exhaustion, &Outcome::Trapped(5)), Verdict::Pass);
        assert!(matches!(
            judge(&exhaustion, &Outcome::Trapped(1)),
            Verdict::Fail(_)
        ));
        assert_eq!(judge(&Expect::Completes, &one), Verdict::Pass);
        assert!(matches!(
            judge(&Expect::Completes, &Outcome::Trapped(3)),
            Verdict::Fail(_)
        ));
    }

    /// Every verdict kind, through the reference interpreter (which needs no back end).
    const SCRIPT: &str = r#"
(module $counter
  (global $n (export "n") (mut i32) (i32.const 0))
  (memory 1)
  (func (export "bump") (result i32)
    (global.set $n (i32.add (global.get $n) (i32.const 1))) (global.get $n))
  (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func (export "wide") (param i64) (result i64) (i64.mul (local.get 0) (i64.const 3)))
  (func $deep (export "deep") (call $deep)))
(assert_return (invoke "bump") (i32.const 1))
(invoke "bump")
(assert_return (invoke "bump") (i32.const 3))
(assert_return (get "n") (i32.const 3))
(assert_return (invoke "wide" (i64.const 0x100000000)) (i64.const 0x300000000))
(assert_trap (invoke "div" (i32.const 1) (i32.const 0)) "integer divide by zero")
(assert_trap (invoke "div" (i32.const 0x80000000) (i32.const -1)) "integer overflow")
(assert_exhaustion (invoke "deep") "call stack exhausted")
(assert_return (invoke "bump") (i32.const 99))
(assert_return (invoke "div" (v128.const i64x2 0 0) (i32.const 1)) (i32.const 1))
(assert_invalid (module (func (result i32))) "type mismatch")
(assert_malformed (module quote "(func (i32.nonsense))") "unknown operator")
(assert_trap (module (memory 1) (data (i32.const 65535) "ab")) "out of bounds memory access")
(assert_unlinkable (module (import "spectest" "nope" (func))) "unknown import")
(module (import "spectest" "global_i32" (global $g i32)) (func (export "g") (result i32) (global.get $g)))
(assert_return (invoke "g") (i32.const 666))
(module (func (drop (v128.const i64x2 0 0))))
(register "counter" $counter)
(module (import "counter" "bump" (func (result i32))))
(assert_return (invoke $counter "bump") (i32.const 5))
(module $plain (memory (export "mem") 1) (func (export "one") (result i32) (i32.load8_u (i32.const 0))))
(register "plain")
(module (import "plain" "mem" (memory 1)) (data (i32.const 0) "\01"))
(assert_return (invoke $plain "one") (i32.const 1))
"#;

    #[test]
    fn a_script_runs_on_the_interpreter_engines_with_persistent_state() {
        let script = script::parse(SCRIPT).unwrap();
        for engine in [Engine::FrontendIr, Engine::LegalizedIr(Target::Rv32imac)] {
            let report = run_script(&script, engine);
            // Line 18 expects 99 after four bumps: the one deliberate failure.
            assert_eq!(
                report.failures.iter().map(|f| f.line).collect::<Vec<_>>(),
                vec![18],
                "{}: {:#?}",
                engine.name(),
                report.failures
            );
            assert!(
                report.failures[0].message.contains("i32:4"),
                "{:?}",
                report.failures
            );
            // The module, 3 bumps, get, wide, 2 traps, exhaustion, invalid, malformed, 2
            // instantiation failures, the spectest global's importer and its value, the last
            // bump, $counter's importer, $plain, its memory's importer and what it wrote.
            assert_eq!(report.passed, 20, "{}: {report:#?}", engine.name());
            // The interpreter links modules like the emulator: only v128 is skipped.
            let skipped: Vec<(&str, u32)> = report
                .skipped
                .iter()
                .map(|(k, v)| (k.as_str(), *v))
                .collect();
            assert_eq!(skipped.len(), 2, "{skipped:#?}");
            assert_eq!(report.skipped["type: v128 value in the assertion"], 1);
            assert!(
                skipped
                    .iter()
                    .any(|(k, _)| k.starts_with("unsupported: ") && k.contains("v128")),
                "{skipped:#?}"
            );
        }
    }

    /// The linking script on the interpreter engines: the same verdicts as in the emulator.
    #[test]
    fn modules_link_to_each_other_and_to_spectest_in_the_interpreter() {
        let script = script::parse(LINK_SCRIPT).unwrap();
        for engine in Engine::IR_STAGES {
            let report = run_script(&script, engine);
            assert_eq!(
                (report.passed, report.failed(), report.skipped_total()),
                (20, 0, 0),
                "{}: {report:#?}",
                engine.name()
            );
        }
    }

    /// Linking in the emulator: a registered instance whose function, global and memory another
    /// module imports (state shared both ways, the exporter relinked and replayed), the
    /// spectest globals (also in a global initializer and a data offset, in and out of bounds),
    /// print and memory (grown by one module, seen by the next), and import matching
    /// (`assert_unlinkable`).
    const LINK_SCRIPT: &str = r#"
(module $counter
  (global $n (export "n") (mut i32) (i32.const 0))
  (memory (export "mem") 1 2)
  (func (export "bump") (result i32)
    (global.set $n (i32.add (global.get $n) (i32.const 1))) (global.get $n))
  (func (export "peek") (param i32) (result i32) (i32.load8_u (local.get 0))))
(register "counter" $counter)
(assert_return (invoke "bump") (i32.const 1))
(module $user
  (import "counter" "bump" (func $bump (result i32)))
  (import "counter" "n" (global $n (mut i32)))
  (import "counter" "mem" (memory 1))
  (import "spectest" "global_i64" (global $g i64))
  (import "spectest" "print_i32" (func $print (param i32)))
  (import "spectest" "global_i32" (global $at i32))
  (global $copy i64 (global.get $g))
  (data (i32.const 3) "\2a")
  (data (global.get $at) "\2b")
  (func (export "twice") (result i32) (drop (call $bump)) (call $bump))
  (func (export "set") (param i32) (global.set $n (local.get 0)) (call $print (local.get 0)))
  (func (export "copy") (result i64) (global.get $copy)))
(assert_return (invoke $counter "peek" (i32.const 3)) (i32.const 42))
(assert_return (invoke $counter "peek" (i32.const 666)) (i32.const 43))
(assert_return (invoke $user "twice") (i32.const 3))
(invoke $user "set" (i32.const 10))
(assert_return (get $counter "n") (i32.const 10))
(assert_return (invoke $counter "bump") (i32.const 11))
(assert_return (invoke $user "copy") (i64.const 666))
(module (import "spectest" "memory" (memory 1 2)) (data (i32.const 0) "\07")
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))
(assert_return (invoke "grow" (i32.const 1)) (i32.const 1))
(assert_return (invoke "grow" (i32.const 1)) (i32.const -1))
(module (import "spectest" "memory" (memory 2))
  (func (export "first") (result i32) (i32.load8_u (i32.const 0))))
(assert_return (invoke "first") (i32.const 7))
(assert_unlinkable (module (import "counter" "n" (global i32))) "incompatible import type")
(assert_unlinkable (module (import "counter" "mem" (memory 3))) "incompatible import type")
(assert_unlinkable (module (import "spectest" "table" (table 10 15 funcref))) "incompatible import type")
(assert_unlinkable (module (import "counter" "nope" (func))) "unknown import")
(assert_trap (module (import "spectest" "global_i32" (global i32)) (memory 0)
  (data (global.get 0) "a")) "out of bounds memory access")
"#;

    #[test]
    fn modules_link_to_each_other_and_to_spectest_in_the_emulator() {
        let script = script::parse(LINK_SCRIPT).unwrap();
        for target in Target::ALL {
            let report = run_script(&script, Engine::Emulator(target));
            assert_eq!(
                (report.passed, report.failed(), report.skipped_total()),
                (20, 0, 0),
                "{}: {report:#?}",
                target.name()
            );
        }
    }

    /// Floats through the runner: constants in actions, `nan:canonical` / `nan:arithmetic`,
    /// exact NaN literals, float globals, float traps. The last assertion is wrong on purpose.
    const FLOAT_SCRIPT: &str = r#"
(module
  (global $g (export "g") (mut f64) (f64.const -0.5))
  (global (export "h") f32 (f32.const nan:0x200000))
  (func (export "neg") (param f32) (result f32) (f32.neg (local.get 0)))
  (func (export "add") (param f64 f64) (result f64) (f64.add (local.get 0) (local.get 1)))
  (func (export "div") (param f32 f32) (result f32) (f32.div (local.get 0) (local.get 1)))
  (func (export "mix") (param i32 f32 i64 f64) (result f64 f32 i64)
    (global.set $g (local.get 3))
    (f64.add (local.get 3) (f64.promote_f32 (local.get 1)))
    (f32.convert_i32_s (local.get 0))
    (local.get 2))
  (func (export "trunc") (param f32) (result i32) (i32.trunc_f32_s (local.get 0))))
(assert_return (invoke "neg" (f32.const nan:0x200000)) (f32.const -nan:0x200000))
(assert_return (invoke "neg" (f32.const 0.0)) (f32.const -0.0))
(assert_return (invoke "add" (f64.const 0.1) (f64.const 0.2)) (f64.const 0.30000000000000004))
(assert_return (invoke "add" (f64.const inf) (f64.const -inf)) (f64.const nan:canonical))
(assert_return (invoke "add" (f64.const nan:0x4000000000001) (f64.const 1)) (f64.const nan:arithmetic))
(assert_return (invoke "div" (f32.const 1) (f32.const 3)) (f32.const 0x1.555556p-2))
(assert_return (invoke "mix" (i32.const -3) (f32.const 1.5) (i64.const 7) (f64.const 2.25))
  (f64.const 3.75) (f32.const -3) (i64.const 7))
(assert_return (get "g") (f64.const 2.25))
(assert_return (get "h") (f32.const nan:0x200000))
(assert_trap (invoke "trunc" (f32.const nan)) "invalid conversion to integer")
(assert_trap (invoke "trunc" (f32.const 2147483648)) "integer overflow")
(assert_return (invoke "trunc" (f32.const -2147483648)) (i32.const -2147483648))
(assert_return (invoke "neg" (f32.const 1)) (f32.const 1))
"#;

    /// The float script on `engine`: run for real (every assertion but the planted one passes)
    /// or, where synth reports floats `Unsupported`, every assertion skipped for that reason.
    fn check_float_script(engine: Engine) {
        let script = script::parse(FLOAT_SCRIPT).unwrap();
        let report = run_script(&script, engine);
        let name = engine.name();
        if report.skipped_total() > 0 {
            assert_eq!(report.passed + report.failed(), 0, "{name}: {report:#?}");
            assert_eq!(report.skipped_total(), 14, "{name}: {report:#?}");
            assert!(
                report
                    .skipped
                    .keys()
                    .all(|k| k.starts_with("unsupported: ")),
                "{name}: {report:#?}"
            );
            return;
        }
        assert_eq!(
            report.failures.iter().map(|f| f.line).collect::<Vec<_>>(),
            vec![27],
            "{name}: {:#?}",
            report.failures
        );
        assert!(
            report.failures[0].message.contains("f32:-1.0"),
            "{name}: {:?}",
            report.failures
        );
        assert_eq!(report.passed, 13, "{name}: {report:#?}");
    }

    #[test]
    fn floats_run_on_the_interpreter_engines() {
        for engine in [Engine::FrontendIr, Engine::LegalizedIr(Target::CortexM4F)] {
            check_float_script(engine);
        }
    }

    #[test]
    fn floats_run_in_the_emulator_on_every_target() {
        for target in Target::ALL {
            check_float_script(Engine::Emulator(target));
        }
    }

    #[test]
    fn judge_accepts_float_patterns_and_rejects_wrong_nans() {
        let expect = |values: Vec<ExpectedValue>| Expect::Return(Ok(values));
        let canonical = expect(vec![ExpectedValue::CanonicalNan(ValType::F32)]);
        assert_eq!(
            judge(
                &canonical,
                &Outcome::Returned(vec![Value::F32(0xffc0_0000)])
            ),
            Verdict::Pass
        );
        assert!(matches!(
            judge(&canonical, &Outcome::Returned(vec![Value::F32(0x7fc0_0001)])),
            Verdict::Fail(m) if m.contains("nan:canonical")
        ));
        let exact = expect(vec![ExpectedValue::Exact(Value::F64(
            0x7ff4_0000_0000_0000,
        ))]);
        assert_eq!(
            judge(
                &exact,
                &Outcome::Returned(vec![Value::F64(0x7ff4_0000_0000_0000)])
            ),
            Verdict::Pass
        );
        assert!(matches!(
            judge(
                &exact,
                &Outcome::Returned(vec![Value::F64(0x7ffc_0000_0000_0000)])
            ),
            Verdict::Fail(_)
        ));
        assert_eq!(
            judge(
                &Expect::Trap("invalid conversion to integer".into()),
                &Outcome::Trapped(7)
            ),
            Verdict::Pass
        );
    }
}
