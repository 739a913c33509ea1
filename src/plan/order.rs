//! Ordering: a topological sort with a strategy-chosen priority, then seeded shuffles of `[P]`
//! runs. Pure functions over task indices.
//!
//! Two steps keep the seed's influence easy to state and to test:
//! 1. a *skeleton* order that does not depend on the seed: Kahn's algorithm, always taking the
//!    ready task with the smallest priority key (strategy-specific, ending in document index);
//! 2. for `spec-like`, each maximal run of consecutive skeleton positions held by one `[P]` group
//!    is reordered by the seed, as a random topological order of the run. All of a run's outside
//!    dependencies precede it in the skeleton, so any order inside it is valid.
//!
//! Hence a different seed can only permute tasks inside `[P]` runs and never breaks a dependency.

use std::collections::{BTreeSet, HashMap};

use super::rng::PlanRng;

/// The order of `n` tasks given `deps[i]` (indices task `i` must follow) and `priority[i]`
/// (smaller first among ready tasks; ties broken by index). `Err` holds one cycle, as indices
/// in dependency order (`a` needs `b` needs … needs `a`).
pub fn skeleton(deps: &[Vec<usize>], priority: &[u64]) -> Result<Vec<usize>, Vec<usize>> {
    let n = deps.len();
    let mut indegree = vec![0usize; n];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, ds) in deps.iter().enumerate() {
        for &d in ds {
            indegree[i] += 1;
            dependents[d].push(i);
        }
    }
    let mut ready: BTreeSet<(u64, usize)> = (0..n)
        .filter(|&i| indegree[i] == 0)
        .map(|i| (priority[i], i))
        .collect();
    let mut order = Vec::with_capacity(n);
    while let Some((_, i)) = ready.pop_first() {
        order.push(i);
        for &j in &dependents[i] {
            indegree[j] -= 1;
            if indegree[j] == 0 {
                ready.insert((priority[j], j));
            }
        }
    }
    if order.len() == n {
        Ok(order)
    } else {
        Err(find_cycle(deps, &indegree))
    }
}

/// A cycle among the tasks Kahn's algorithm could not place (those with indegree left).
fn find_cycle(deps: &[Vec<usize>], indegree: &[usize]) -> Vec<usize> {
    let stuck = |i: usize| indegree[i] > 0;
    // Every stuck task has a stuck dependency, so walking "first stuck dependency" from any
    // stuck task must revisit a task; the loop from its first visit is a cycle.
    let Some(start) = (0..deps.len()).find(|&i| stuck(i)) else {
        return Vec::new();
    };
    let mut seen_at: HashMap<usize, usize> = HashMap::new();
    let mut path = Vec::new();
    let mut cur = start;
    loop {
        if let Some(&pos) = seen_at.get(&cur) {
            return path[pos..].to_vec();
        }
        seen_at.insert(cur, path.len());
        path.push(cur);
        match deps[cur].iter().copied().find(|&d| stuck(d)) {
            Some(next) => cur = next,
            None => return path, // cannot happen: a stuck task has a stuck dependency
        }
    }
}

/// Reorder, with the seed, each maximal run of consecutive positions in `order` whose tasks
/// share a `[P]` group (`group[i]`, `None` for tasks not in a group).
pub fn shuffle_parallel_runs(
    order: &mut [usize],
    group: &[Option<usize>],
    deps: &[Vec<usize>],
    seed: u64,
) {
    let mut rng = PlanRng::new(seed);
    let mut start = 0;
    while start < order.len() {
        let g = group[order[start]];
        let mut end = start + 1;
        if g.is_some() {
            while end < order.len() && group[order[end]] == g {
                end += 1;
            }
        }
        if end - start > 1 {
            shuffle_run(&mut order[start..end], deps, &mut rng);
        }
        start = end;
    }
}

/// A seeded topological order of `run`: repeatedly draw one of the tasks whose in-run
/// dependencies are all placed. Linear in the run's size and its internal dependencies, so a
/// 100,000-task `[P]` group stays cheap.
fn shuffle_run(run: &mut [usize], deps: &[Vec<usize>], rng: &mut PlanRng) {
    let pos: HashMap<usize, usize> = run.iter().enumerate().map(|(p, &t)| (t, p)).collect();
    let mut indegree = vec![0usize; run.len()];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); run.len()];
    for (p, &t) in run.iter().enumerate() {
        for d in &deps[t] {
            if let Some(&q) = pos.get(d) {
                indegree[p] += 1;
                dependents[q].push(p);
            }
        }
    }
    let mut ready: Vec<usize> = (0..run.len()).filter(|&p| indegree[p] == 0).collect();
    let mut out = Vec::with_capacity(run.len());
    // The skeleton is a valid order of the run, so `ready` only empties when all are placed.
    while !ready.is_empty() {
        let p = ready.swap_remove(rng.below(ready.len()));
        out.push(run[p]);
        for &q in &dependents[p] {
            indegree[q] -= 1;
            if indegree[q] == 0 {
                ready.push(q);
            }
        }
    }
    run.copy_from_slice(&out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kahn_follows_priority_then_index() {
        let deps = vec![vec![], vec![], vec![0]];
        assert_eq!(skeleton(&deps, &[0, 0, 0]).unwrap(), vec![0, 1, 2]);
        assert_eq!(skeleton(&deps, &[1, 0, 0]).unwrap(), vec![1, 0, 2]);
    }

    #[test]
    fn forward_dependency_moves_a_task_later() {
        // 0 depends on 2.
        let deps = vec![vec![2], vec![], vec![]];
        assert_eq!(skeleton(&deps, &[0, 0, 0]).unwrap(), vec![1, 2, 0]);
    }

    #[test]
    fn cycles_are_named() {
        let deps = vec![vec![], vec![2], vec![3], vec![1]];
        let mut cycle = skeleton(&deps, &[0; 4]).unwrap_err();
        cycle.sort();
        assert_eq!(cycle, vec![1, 2, 3]);
    }

    #[test]
    fn shuffles_only_inside_parallel_runs() {
        let deps = vec![vec![]; 6];
        let group = vec![None, Some(0), Some(0), Some(0), Some(0), None];
        for seed in 0..50 {
            let mut order: Vec<usize> = (0..6).collect();
            shuffle_parallel_runs(&mut order, &group, &deps, seed);
            assert_eq!(order[0], 0);
            assert_eq!(order[5], 5);
            let mut mid = order[1..5].to_vec();
            mid.sort();
            assert_eq!(mid, vec![1, 2, 3, 4]);
        }
    }
}
