//! Totals over a fuzzing run and their report.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::run::{Finding, FindingKind, ModuleOutcome};

/// Findings of one resource-limit kind.
#[derive(Clone, Debug, Default)]
pub struct ResourceStats {
    pub vectors: u64,
    pub modules: u64,
    /// The first few, as reported.
    pub examples: Vec<String>,
}

#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// Modules drawn (generated or not).
    pub modules: u64,
    /// Modules run on at least one target.
    pub modules_run: u64,
    pub profiles: BTreeMap<&'static str, u64>,
    pub generation_failures: BTreeMap<String, u64>,
    /// Modules declined everywhere, by reason.
    pub rejected: BTreeMap<String, u64>,
    /// Modules declined on some (target, variant) only, by reason.
    pub partial_rejections: BTreeMap<String, u64>,
    pub vectors: BTreeMap<&'static str, u64>,
    /// Of them, vectors that call a provider's export directly.
    pub provider_calls: u64,
    pub skipped: BTreeMap<String, u64>,
    pub resources: BTreeMap<String, ResourceStats>,
    /// (module seed, finding), every bug.
    pub bugs: Vec<(u64, Finding)>,
    /// Largest frame seen per target.
    pub max_frame: BTreeMap<&'static str, u32>,
}

/// Examples kept per resource kind.
const EXAMPLES: usize = 3;

impl Summary {
    pub fn add_generation_failure(&mut self, reason: String) {
        self.modules += 1;
        *self.generation_failures.entry(reason).or_default() += 1;
    }

    pub fn add(&mut self, seed: u64, profile: &'static str, outcome: &ModuleOutcome) {
        self.modules += 1;
        *self.profiles.entry(profile).or_default() += 1;
        if let Some(reason) = &outcome.rejected {
            *self.rejected.entry(reason.clone()).or_default() += 1;
        } else {
            self.modules_run += 1;
        }
        for reason in &outcome.partial_rejections {
            *self.partial_rejections.entry(reason.clone()).or_default() += 1;
        }
        for (target, count) in &outcome.vectors {
            *self.vectors.entry(target).or_default() += *count as u64;
        }
        self.provider_calls += outcome.provider_calls as u64;
        for (reason, count) in &outcome.skipped {
            *self.skipped.entry(reason.clone()).or_default() += *count as u64;
        }
        for (target, frame) in &outcome.max_frame {
            let slot = self.max_frame.entry(target).or_default();
            *slot = (*slot).max(*frame);
        }
        let mut kinds_seen = std::collections::BTreeSet::new();
        for finding in &outcome.findings {
            if finding.kind == FindingKind::Bug {
                self.bugs.push((seed, finding.clone()));
                continue;
            }
            let stats = self.resources.entry(finding.class.clone()).or_default();
            stats.vectors += 1;
            if kinds_seen.insert(finding.class.clone()) {
                stats.modules += 1;
                if stats.examples.len() < EXAMPLES {
                    stats
                        .examples
                        .push(format!("seed 0x{seed:016x}: {finding}"));
                }
            }
        }
    }

    pub fn merge(&mut self, other: Summary) {
        self.modules += other.modules;
        self.modules_run += other.modules_run;
        let add = |into: &mut BTreeMap<String, u64>, from: BTreeMap<String, u64>| {
            for (k, v) in from {
                *into.entry(k).or_default() += v;
            }
        };
        add(&mut self.generation_failures, other.generation_failures);
        add(&mut self.rejected, other.rejected);
        add(&mut self.partial_rejections, other.partial_rejections);
        add(&mut self.skipped, other.skipped);
        for (k, v) in other.profiles {
            *self.profiles.entry(k).or_default() += v;
        }
        for (k, v) in other.vectors {
            *self.vectors.entry(k).or_default() += v;
        }
        self.provider_calls += other.provider_calls;
        for (k, v) in other.max_frame {
            let slot = self.max_frame.entry(k).or_default();
            *slot = (*slot).max(v);
        }
        for (k, v) in other.resources {
            let stats = self.resources.entry(k).or_default();
            stats.vectors += v.vectors;
            stats.modules += v.modules;
            for e in v.examples {
                if stats.examples.len() < EXAMPLES {
                    stats.examples.push(e);
                }
            }
        }
        self.bugs.extend(other.bugs);
    }

    /// Seeds of the modules with at least one bug, in order of first appearance.
    pub fn bug_seeds(&self) -> Vec<u64> {
        let mut seeds = Vec::new();
        for (seed, _) in &self.bugs {
            if !seeds.contains(seed) {
                seeds.push(*seed);
            }
        }
        seeds
    }

    pub fn render(&self, elapsed: std::time::Duration) -> String {
        let mut s = String::new();
        let seconds = elapsed.as_secs_f64().max(1e-9);
        let _ = writeln!(
            s,
            "modules: {} drawn, {} run, {} rejected, {} not generated ({:.0} modules/hour, {:.1} s)",
            self.modules,
            self.modules_run,
            self.rejected.values().sum::<u64>(),
            self.generation_failures.values().sum::<u64>(),
            self.modules as f64 * 3600.0 / seconds,
            seconds
        );
        let profiles: Vec<String> = self
            .profiles
            .iter()
            .map(|(p, n)| format!("{p} {n}"))
            .collect();
        let _ = writeln!(s, "profiles: {}", profiles.join(", "));
        let total: u64 = self.vectors.values().sum();
        let _ = writeln!(
            s,
            "vectors compared: {total} ({} of them call a provider's export directly)",
            self.provider_calls
        );
        for (target, count) in &self.vectors {
            let frame = self.max_frame.get(target).copied().unwrap_or(0);
            let _ = writeln!(s, "  {target}: {count} (largest frame {frame} B)");
        }
        let section = |s: &mut String, title: &str, map: &BTreeMap<String, u64>| {
            if map.is_empty() {
                return;
            }
            let _ = writeln!(s, "{title}:");
            let mut rows: Vec<(&String, &u64)> = map.iter().collect();
            rows.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            for (reason, count) in rows {
                let _ = writeln!(s, "  {count:6}  {reason}");
            }
        };
        section(&mut s, "rejected modules by reason", &self.rejected);
        section(
            &mut s,
            "modules declined on some targets/variants only",
            &self.partial_rejections,
        );
        section(&mut s, "not generated", &self.generation_failures);
        section(&mut s, "vectors not compared", &self.skipped);
        if self.resources.is_empty() {
            let _ = writeln!(s, "resource-limit differences: none");
        } else {
            let _ = writeln!(s, "resource-limit differences (not bugs):");
            for (class, stats) in &self.resources {
                let _ = writeln!(
                    s,
                    "  {class}: {} vectors in {} modules",
                    stats.vectors, stats.modules
                );
                for example in &stats.examples {
                    let _ = writeln!(s, "    e.g. {example}");
                }
            }
        }
        let seeds = self.bug_seeds();
        let _ = writeln!(
            s,
            "divergences (bugs): {} in {} modules",
            self.bugs.len(),
            seeds.len()
        );
        for seed in seeds.iter().take(20) {
            let findings: Vec<&Finding> = self
                .bugs
                .iter()
                .filter(|(s, _)| s == seed)
                .map(|(_, f)| f)
                .collect();
            let _ = writeln!(
                s,
                "  seed 0x{seed:016x}: {} findings, first: {}",
                findings.len(),
                findings[0]
            );
        }
        s
    }
}
