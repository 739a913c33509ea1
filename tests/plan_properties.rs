//! Property tests for the planner: every plan is a valid topological order, the same seed gives
//! the same plan, and another seed only permutes `[P]` tasks among themselves.

use git_microloop::plan::{Plan, Strategy as Planning, build_plan};
use git_microloop::tasks::{Status, Task};
use proptest::prelude::*;

/// Random acyclic task lists: a hidden random order decides which dependencies may exist, so
/// dependencies point both forwards and backwards in the file but never form a cycle.
fn task_lists() -> impl Strategy<Value = Vec<Task>> {
    (1usize..40).prop_flat_map(|n| {
        (
            Just(n),
            Just((0..n).collect::<Vec<usize>>()).prop_shuffle(),
            proptest::collection::vec((0u8..3, any::<bool>(), 0u8..4), n),
            proptest::collection::vec(proptest::collection::vec(0..n, 0..3), n),
        )
            .prop_map(|(n, hidden, attrs, deps)| {
                let mut phase = 0u8;
                (0..n)
                    .map(|i| {
                        let (phase_step, parallel, status) = attrs[i];
                        phase += u8::from(phase_step == 0);
                        let depends_on = deps[i]
                            .iter()
                            .filter(|&&d| hidden[d] < hidden[i])
                            .map(|d| format!("T{d:03}"))
                            .collect();
                        Task {
                            key: format!("T{i:03}"),
                            id: format!("T{i:03}"),
                            title: format!("task {i}"),
                            text: format!("task {i}"),
                            status: match status {
                                0 => Status::Done,
                                1 => Status::Skipped,
                                _ => Status::Open,
                            },
                            parallel,
                            story: None,
                            phase: vec![format!("Phase {phase}")],
                            files: vec![format!("f{}.rs", i % 5)],
                            depends_on,
                            line_start: i as u32 + 1,
                            line_end: i as u32 + 1,
                        }
                    })
                    .collect()
            })
    })
}

fn strategies() -> impl Strategy<Value = Planning> {
    prop_oneof![
        Just(Planning::SpecLike),
        Just(Planning::Document),
        Just(Planning::ByFile)
    ]
}

fn keys(p: &Plan) -> Vec<&str> {
    p.tasks.iter().map(|t| t.task.key.as_str()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn plan_is_a_valid_topological_order(tasks in task_lists(), strategy in strategies(), seed: u64) {
        let n = tasks.len();
        let plan = build_plan(tasks, strategy, seed, None).unwrap();
        prop_assert_eq!(plan.tasks.len(), n);
        let order = keys(&plan);
        for (pos, t) in plan.tasks.iter().enumerate() {
            prop_assert_eq!(t.position as usize, pos + 1);
            for d in &t.task.depends_on {
                let dp = order.iter().position(|k| k == d).unwrap();
                prop_assert!(dp < pos, "{} at {} before its dependency {}", t.task.key, pos, d);
            }
            prop_assert_eq!(t.execute, t.task.status == Status::Open);
        }
    }

    #[test]
    fn same_seed_same_plan(tasks in task_lists(), strategy in strategies(), seed: u64) {
        let a = build_plan(tasks.clone(), strategy, seed, None).unwrap();
        let b = build_plan(tasks, strategy, seed, None).unwrap();
        prop_assert_eq!(serde_json::to_vec(&a).unwrap(), serde_json::to_vec(&b).unwrap());
    }

    #[test]
    fn another_seed_only_permutes_parallel_tasks(tasks in task_lists(), s1: u64, s2: u64) {
        let a = build_plan(tasks.clone(), Planning::SpecLike, s1, None).unwrap();
        let b = build_plan(tasks, Planning::SpecLike, s2, None).unwrap();
        for (x, y) in a.tasks.iter().zip(&b.tasks) {
            if x.task.key != y.task.key {
                prop_assert!(x.task.parallel && y.task.parallel,
                    "{} / {} differ at {} and are not both [P]", x.task.key, y.task.key, x.position);
                prop_assert_eq!(&x.task.phase, &y.task.phase);
            }
        }
        let mut ka = keys(&a);
        let mut kb = keys(&b);
        ka.sort();
        kb.sort();
        prop_assert_eq!(ka, kb);
    }

    #[test]
    fn seed_does_not_matter_for_document_and_by_file(tasks in task_lists(), s1: u64, s2: u64) {
        for strategy in [Planning::Document, Planning::ByFile] {
            let a = build_plan(tasks.clone(), strategy, s1, None).unwrap();
            let b = build_plan(tasks.clone(), strategy, s2, None).unwrap();
            prop_assert_eq!(keys(&a), keys(&b));
        }
    }
}
