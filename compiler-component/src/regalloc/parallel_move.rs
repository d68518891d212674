//! Sequencing a parallel move: every destination receives the value its source held *before*
//! any of the moves, so a destination is written only once no pending move still reads it, and
//! cycles are broken by parking one value in a temporary.

use super::Location;

/// Orders `moves` (distinct destinations; a source may feed several destinations) into a
/// sequence of single moves with the same effect. `temp` is a location none of the moves names
/// and whose old contents may be destroyed; it is used only when there is a cycle.
pub(crate) fn sequence(
    moves: &[(Location, Location)],
    temp: Location,
) -> Vec<(Location, Location)> {
    let mut pending: Vec<(Location, Location)> = moves
        .iter()
        .copied()
        .filter(|(src, dst)| src != dst)
        .collect();
    let mut out = Vec::with_capacity(pending.len() + 1);
    while !pending.is_empty() {
        let ready = (0..pending.len()).find(|&k| {
            let dst = pending.get(k).map(|m| m.1);
            pending.iter().all(|(src, _)| Some(*src) != dst)
        });
        if let Some(k) = ready {
            out.push(pending.remove(k));
            continue;
        }
        // Every destination is still to be read: a cycle. Park the first destination's
        // current value in `temp` and read it from there instead.
        let Some(&(_, blocked)) = pending.first() else {
            break;
        };
        out.push((blocked, temp));
        for (src, _) in pending.iter_mut() {
            if *src == blocked {
                *src = temp;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regalloc::{PReg, SpillSlot};
    use std::collections::BTreeMap;

    fn r(n: u8) -> Location {
        Location::Reg(PReg(n))
    }

    /// Runs a sequence on a toy machine where every location starts holding its own name.
    fn run(seq: &[(Location, Location)]) -> BTreeMap<Location, Location> {
        let mut state = BTreeMap::new();
        for &(src, dst) in seq {
            let value = state.get(&src).copied().unwrap_or(src);
            state.insert(dst, value);
        }
        state
    }

    #[test]
    fn swap_and_rotation_use_the_temporary() {
        let temp = Location::Stack(SpillSlot(9));
        let moves = [(r(1), r(2)), (r(2), r(3)), (r(3), r(1)), (r(4), r(5))];
        let seq = sequence(&moves, temp);
        let state = run(&seq);
        for (src, dst) in moves {
            assert_eq!(state.get(&dst), Some(&src), "{seq:?}");
        }
        assert_eq!(seq.len(), 5, "one extra move breaks the cycle: {seq:?}");
    }

    #[test]
    fn fan_out_and_chains_need_no_temporary() {
        let temp = r(9);
        let moves = [(r(1), r(2)), (r(1), r(3)), (r(2), r(4))];
        let seq = sequence(&moves, temp);
        assert!(seq.iter().all(|(s, d)| *s != temp && *d != temp));
        let state = run(&seq);
        assert_eq!(state.get(&r(2)), Some(&r(1)));
        assert_eq!(state.get(&r(3)), Some(&r(1)));
        assert_eq!(state.get(&r(4)), Some(&r(2)));
    }
}
