//! Planning benchmark (not a timed test): parse + plan + JSON of generated tasks.md files of
//! 1,000, 10,000 and 100,000 tasks. Prints medians and the growth per 10× so linearity shows.
//! Target: 10,000 tasks in under 50 ms on the project's 2-core machine.
//!
//! Run: `cargo bench --bench plan`

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use git_microloop::plan::{Strategy, build_plan};
use git_microloop::tasks::parse;

/// A tasks.md in the current spec-kit shape: phases of 50 tasks, 40 % `[P]`, story labels,
/// backticked paths and `(depends on …)` groups pointing a few tasks back.
fn generate(n: usize) -> String {
    let mut s = String::from("# Tasks: generated\n\n");
    for i in 1..=n {
        if i % 50 == 1 {
            let _ = write!(s, "\n## Phase {}: Generated\n\n", i / 50 + 1);
        }
        let done = if i % 7 == 0 { "X" } else { " " };
        let p = if i % 5 < 2 { " [P]" } else { "" };
        let story = format!(" [US{}]", i / 200 + 1);
        let deps = if i > 3 && i % 3 == 0 {
            format!(" (depends on T{:06}, T{:06})", i - 3, i - 2)
        } else {
            String::new()
        };
        let _ = writeln!(
            s,
            "- [{done}] T{i:06}{p}{story} Implement part {i} in `src/mod{}/part{i}.rs`{deps}",
            i % 97
        );
    }
    s
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    println!(
        "{:>8} {:>12} {:>12} {:>10}",
        "tasks", "median", "per 1k", "growth"
    );
    let mut previous: Option<Duration> = None;
    for n in [1_000, 10_000, 100_000] {
        let text = generate(n);
        let runs = if n >= 100_000 { 5 } else { 15 };
        let mut stages = [Vec::new(), Vec::new(), Vec::new()];
        let times: Vec<Duration> = (0..runs)
            .map(|_| {
                let start = Instant::now();
                let list = parse(&text, "tasks.md");
                let parsed = start.elapsed();
                assert_eq!(list.tasks.len(), n, "generator and parser disagree");
                let plan = build_plan(list.tasks, Strategy::SpecLike, 42, None).expect("plan");
                let planned = start.elapsed();
                let json = serde_json::to_vec(&plan).expect("json");
                std::hint::black_box(json);
                let total = start.elapsed();
                stages[0].push(parsed);
                stages[1].push(planned - parsed);
                stages[2].push(total - planned);
                total
            })
            .collect();
        let m = median(times);
        let [p, q, j] = stages.map(|v| median(v).as_secs_f64() * 1e3);
        let growth = previous.map_or("-".to_string(), |p| {
            format!("{:.1}×", m.as_secs_f64() / p.as_secs_f64())
        });
        println!(
            "{n:>8} {:>10.2}ms {:>10.3}ms {growth:>10} {p:>8.2}ms {q:>8.2}ms {j:>8.2}ms",
            m.as_secs_f64() * 1e3,
            m.as_secs_f64() * 1e3 / (n as f64 / 1000.0)
        );
        previous = Some(m);
    }
    println!("target: 10,000 tasks < 50 ms; linear growth ≈ 10× per 10× tasks");
}
