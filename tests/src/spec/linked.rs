//! One script's module instances in the emulator, linked the way wasm links them.
//!
//! Every module is compiled with its own namespace (`wast_mN`, N its command index; the spectest
//! host module as `spectest`), so any set of them links into one program (docs/ABI.md
//! "Symbols"). Instances that share state (an importer and the instances it imports from, the
//! modules that import spectest's globals, memory or table) live in one **group**: one linked
//! image in one emulator. An import `("lib", "E")` refers to the symbol `lib_E`; the linker
//! script aliases it to the export of the instance registered as `lib` (`lib_E = wast_m3_E;`).
//!
//! A group grows when a module imports from instances of other groups: the groups merge and
//! everything is linked again. The new image starts from the initial state, so the groups'
//! history (every instantiation and call, in script order) is replayed on it, which restores
//! exactly the state the instances had: execution is deterministic. A replayed call that ends
//! differently than the first time is reported, never ignored.

use std::collections::BTreeMap;

use synth_compiler::Target;
use synth_compiler::ir::names::mangle;

use super::engine::SPEC_INSTRUCTION_LIMIT;
use crate::Outcome;
use crate::emu::{LinkOptions, Machine, Platform, link_with};
use crate::wasm_info::{ImportedFunction, ModuleInfo, Signature, ValType, Value};

/// Who a group member is: a runner slot (module command) or the spectest host module.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MemberKey {
    Slot(usize),
    Spectest,
}

/// A compiled module ready to link.
#[derive(Clone, Debug)]
pub struct Member {
    /// `None`: the legacy naming (`synth_init`, exports by their own name), for a module whose
    /// export names collide with its namespaced symbols (an export `init` next to `NS_init`).
    /// At most one such member links into a program.
    pub namespace: Option<String>,
    pub object: Vec<u8>,
    pub info: ModuleInfo,
    /// Linker-script aliases this member's imports need: `(import symbol, export symbol)`.
    pub aliases: Vec<(String, String)>,
}

/// The namespace of the module of command `index`.
pub fn slot_namespace(index: usize) -> String {
    format!("wast_m{index}")
}

/// The symbol of export `name` (a function, global, memory or table: `kind`) of a module
/// compiled with namespace `ns`: `NS_E` (every export name has its own symbol), or in the legacy
/// naming `E` for a function, `synth_global_E`, `synth_table_E`, and `synth_memory`.
pub fn export_symbol(ns: Option<&str>, kind: &str, name: &str) -> String {
    match (ns, kind) {
        (Some(ns), _) => format!("{ns}_{}", mangle(name)),
        (None, "function") => mangle(name),
        (None, "memory") => "synth_memory".to_string(),
        (None, kind) => format!("synth_{kind}_{}", mangle(name)),
    }
}

#[derive(Clone, Debug)]
enum Event {
    Init(MemberKey),
    Invoke {
        member: MemberKey,
        export: String,
        args: Vec<Value>,
        outcome: Outcome,
    },
}

struct Group {
    members: BTreeMap<MemberKey, Member>,
    /// (global sequence number, event): merging groups interleaves their histories in order.
    history: Vec<(u64, Event)>,
    machine: Machine,
}

/// All groups of one script on one target.
pub struct World {
    target: Target,
    groups: Vec<Option<Group>>,
    group_of: BTreeMap<MemberKey, usize>,
    next_event: u64,
}

impl World {
    pub fn new(target: Target) -> World {
        World {
            target,
            groups: Vec::new(),
            group_of: BTreeMap::new(),
            next_event: 0,
        }
    }

    /// Every member linked in one program with `key` (itself included).
    pub fn group_members(&self, key: MemberKey) -> Vec<MemberKey> {
        self.group(key)
            .map(|g| g.members.keys().copied().collect())
            .unwrap_or_default()
    }

    /// The namespace `key` was compiled with (`None` inside: the legacy naming).
    pub fn namespace(&self, key: MemberKey) -> Option<Option<String>> {
        let group = self.group(key).ok()?;
        Some(group.members.get(&key)?.namespace.clone())
    }

    pub fn contains(&self, key: MemberKey) -> bool {
        self.group_of.contains_key(&key)
    }

    /// Add `member` under `key`, in one group with the members of `joins` (which must exist),
    /// and run its initializer. The outcome is `Trapped` when instantiation traps (the member
    /// stays linked: what its initializer wrote into shared state before the trap remains).
    pub fn instantiate(
        &mut self,
        key: MemberKey,
        member: Member,
        joins: &[MemberKey],
    ) -> Result<Outcome, String> {
        let mut group_ids: Vec<usize> = joins
            .iter()
            .map(|k| {
                self.group_of
                    .get(k)
                    .copied()
                    .ok_or_else(|| format!("internal: {k:?} is not instantiated"))
            })
            .collect::<Result<_, _>>()?;
        group_ids.sort_unstable();
        group_ids.dedup();
        let mut members = BTreeMap::new();
        let mut history = Vec::new();
        for id in &group_ids {
            if let Some(group) = self.groups.get(*id).and_then(|g| g.as_ref()) {
                members.extend(group.members.iter().map(|(k, m)| (*k, m.clone())));
                history.extend(group.history.iter().cloned());
            }
        }
        members.insert(key, member);
        history.sort_by_key(|(seq, _)| *seq);
        let machine = self.link(&members)?;
        let mut group = Group {
            members,
            history: Vec::new(),
            machine,
        };
        replay(&mut group, &history)?;
        group.history = history;
        // Only now that the new group works are the old ones retired.
        for id in &group_ids {
            if let Some(slot) = self.groups.get_mut(*id) {
                *slot = None;
            }
        }
        let id = self.groups.len();
        for member in group.members.keys() {
            self.group_of.insert(*member, id);
        }
        let outcome = run_init(&mut group, key)?;
        group.history.push((self.next_event, Event::Init(key)));
        self.next_event += 1;
        self.groups.push(Some(group));
        Ok(outcome)
    }

    fn group_mut(&mut self, key: MemberKey) -> Result<&mut Group, String> {
        self.group_of
            .get(&key)
            .and_then(|id| self.groups.get_mut(*id))
            .and_then(|g| g.as_mut())
            .ok_or_else(|| format!("internal: {key:?} is not instantiated"))
    }

    fn group(&self, key: MemberKey) -> Result<&Group, String> {
        self.group_of
            .get(&key)
            .and_then(|id| self.groups.get(*id))
            .and_then(|g| g.as_ref())
            .ok_or_else(|| format!("internal: {key:?} is not instantiated"))
    }

    /// Call export `export` of `key`; the call joins the history (unless the harness failed).
    pub fn invoke(
        &mut self,
        key: MemberKey,
        export: &str,
        args: &[Value],
    ) -> Result<Outcome, String> {
        let seq = self.next_event;
        let group = self.group_mut(key)?;
        let outcome = call_export(group, key, export, args)?;
        group.history.push((
            seq,
            Event::Invoke {
                member: key,
                export: export.to_string(),
                args: args.to_vec(),
                outcome: outcome.clone(),
            },
        ));
        self.next_event += 1;
        Ok(outcome)
    }

    /// The current value of global export `name` of `key`.
    pub fn global(&self, key: MemberKey, name: &str, ty: ValType) -> Result<Value, String> {
        let group = self.group(key)?;
        let member = group
            .members
            .get(&key)
            .ok_or_else(|| format!("internal: no member {key:?}"))?;
        let address = group
            .machine
            .image()
            .symbol(&export_symbol(member.namespace.as_deref(), "global", name))
            .map_err(|e| e.message)?;
        group.machine.read_value(address, ty).map_err(|e| e.message)
    }

    /// The first word at the export `name` of `key` (a table's size) or, with `bytes_word`, at
    /// its `_bytes` symbol (a memory's size in bytes).
    pub fn size_word(&self, key: MemberKey, name: &str, bytes_word: bool) -> Option<u32> {
        let group = self.group(key).ok()?;
        let member = group.members.get(&key)?;
        let kind = if bytes_word { "memory" } else { "table" };
        let mut symbol = export_symbol(member.namespace.as_deref(), kind, name);
        if bytes_word {
            symbol.push_str("_bytes");
        }
        let address = group.machine.image().symbol(&symbol).ok()?;
        group.machine.read_u32(address).ok()
    }

    /// Link `members` into one image with a fresh emulator.
    fn link(&self, members: &BTreeMap<MemberKey, Member>) -> Result<Machine, String> {
        let platform = Platform::of(self.target);
        // Host functions (spectest's print*) are stubs, one per symbol.
        let mut stubs: BTreeMap<String, ImportedFunction> = BTreeMap::new();
        let mut aliases: BTreeMap<String, String> = BTreeMap::new();
        for member in members.values() {
            for import in &member.info.imports {
                if import.module == "spectest" {
                    stubs
                        .entry(import.symbol.clone())
                        .or_insert_with(|| import.clone());
                }
            }
            for (alias, target) in &member.aliases {
                if let Some(existing) = aliases.insert(alias.clone(), target.clone())
                    && existing != *target
                {
                    return Err(format!(
                        "`{alias}` would name both `{existing}` and `{target}` in one program \
                         (a name registered twice)"
                    ));
                }
            }
        }
        let imports: Vec<ImportedFunction> = stubs.into_values().collect();
        let symbols: Vec<String> = imports.iter().map(|i| i.symbol.clone()).collect();
        let objects: Vec<&[u8]> = members.values().map(|m| m.object.as_slice()).collect();
        let options = LinkOptions {
            aliases: aliases.into_iter().collect(),
            ..LinkOptions::default()
        };
        let (image, _) =
            link_with(&platform, &objects, &symbols, &options).map_err(|e| e.message)?;
        let mut machine = Machine::on(&platform, image, &imports).map_err(|e| e.message)?;
        machine.instruction_limit = SPEC_INSTRUCTION_LIMIT;
        Ok(machine)
    }
}

fn run_init(group: &mut Group, key: MemberKey) -> Result<Outcome, String> {
    let member = group
        .members
        .get(&key)
        .ok_or_else(|| format!("internal: no member {key:?}"))?;
    let init = match &member.namespace {
        Some(ns) => format!("{ns}_init"),
        None => "synth_init".to_string(),
    };
    group
        .machine
        .call(&init, &Signature::default(), &[])
        .map(|r| r.outcome)
        .map_err(|e| format!("{init}: {}", e.message))
}

fn call_export(
    group: &mut Group,
    key: MemberKey,
    export: &str,
    args: &[Value],
) -> Result<Outcome, String> {
    let member = group
        .members
        .get(&key)
        .ok_or_else(|| format!("internal: no member {key:?}"))?;
    let function = member.info.export(export).map_err(|e| e.message)?.clone();
    group
        .machine
        .call(&function.symbol, &function.sig, args)
        .map(|r| r.outcome)
        .map_err(|e| e.message)
}

/// Re-run `history` on a freshly linked group.
fn replay(group: &mut Group, history: &[(u64, Event)]) -> Result<(), String> {
    for (_, event) in history {
        match event {
            Event::Init(key) => {
                run_init(group, *key)?;
            }
            Event::Invoke {
                member,
                export,
                args,
                outcome,
            } => {
                let again = call_export(group, *member, export, args)?;
                if again != *outcome {
                    return Err(format!(
                        "replaying `{export}` after relinking ended as {again:?}, first {outcome:?}"
                    ));
                }
            }
        }
    }
    Ok(())
}
