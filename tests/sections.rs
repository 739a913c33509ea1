// Managed sections of impact.md and IMPLEMENTATION_PLAN.md through the public API: hand-written
// text stays byte-identical outside the sections across runs, damaged markers are errors with
// line numbers, and (property) arbitrary surrounding text survives repeated replacements.

use git_microloop::evidence::sections::{
    IMPACT, PLAN, SectionError, begin_marker, end_marker, impact_body, new_file, plan_body,
    replace_section,
};
use git_microloop::evidence::summary::{Progress, Retention, Summary, TaskSummary, Totals};
use proptest::prelude::*;

const IMPACT_TEMPLATE: &str = include_str!("../templates/impact.md");
const PLAN_TEMPLATE: &str = include_str!("../templates/IMPLEMENTATION_PLAN.md");

fn task(id: &str, title: &str, commit: Option<&str>) -> TaskSummary {
    TaskSummary {
        task_id: id.to_string(),
        title: title.to_string(),
        status: if commit.is_some() { "done" } else { "pending" }.to_string(),
        commit: commit.map(str::to_string),
        duration_ms: commit.map(|_| 2500),
        files_touched: vec!["a.txt".into()],
        lines_added: 1,
        lines_removed: 0,
        qa_result: commit.map(|_| "pass".to_string()),
        qa: vec![],
        attempts: 1,
    }
}

fn summary(run: &str, tasks: Vec<TaskSummary>, settled: u32) -> Summary {
    let done = tasks.iter().filter(|t| t.commit.is_some()).count() as u32;
    Summary {
        schema_version: 1,
        change: "CH-001".to_string(),
        run_id: run.to_string(),
        status: "succeeded".to_string(),
        seed: 42,
        strategy: "spec-like".to_string(),
        planner_version: 1,
        plan_hash: format!("sha256:{}", "0123456789abcdef".repeat(4)),
        planner_fallback: None,
        base_commit: "1".repeat(40),
        head_commit: Some("2".repeat(40)),
        run_branch: format!("microloop/CH-001/{run}"),
        started_at: "2026-11-24T10:15:00Z".to_string(),
        finished_at: Some("2026-11-24T10:16:00Z".to_string()),
        totals: Totals {
            tasks: tasks.len() as u32,
            done,
            skipped: 0,
            failed: 0,
            files_touched: 1,
            lines_added: tasks.len() as u64,
            lines_removed: 0,
            duration_ms: 2500 * u64::from(done),
        },
        tasks,
        plan_progress: Progress { settled, total: 2 },
        retention: Retention::default(),
        approvals: vec![],
        audit_anchor: None,
    }
}

/// The file with the (kind, change) section's body cut out (markers kept).
fn outside(text: &str, kind: &str, change: &str) -> (String, String) {
    let (begin, end) = (begin_marker(kind, change), end_marker(kind, change));
    let b = text.rfind(&begin).expect("begin marker") + begin.len();
    let b = b + text[b..].find('\n').expect("begin line ends") + 1;
    let e = text.rfind(&end).expect("end marker");
    (text[..b].to_string(), text[e..].to_string())
}

/// What the record commit does to one file: template if missing, then the section.
fn update(file: Option<&str>, template: &str, kind: &str, body: &str) -> String {
    let existing = file.map_or_else(|| new_file(template, "CH-001"), str::to_string);
    replace_section(&existing, kind, "CH-001", body).expect("section updated")
}

#[test]
fn running_the_same_change_twice_keeps_hand_written_text_byte_identical() {
    let sha = "ab".repeat(20);
    let run1 = summary("run-1", vec![task("T001", "First", Some(&sha))], 1);
    let run2 = summary(
        "run-2",
        vec![
            task("T001", "First", Some(&sha)),
            task("T002", "Second | with pipe", Some(&sha)),
        ],
        2,
    );

    // impact.md: a BOM, CRLF, unicode, no final newline, and the format documented in a fence.
    let fence = format!(
        "```md\r\n{}\r\n{}\r\n```",
        begin_marker(IMPACT, "CH-001"),
        end_marker(IMPACT, "CH-001")
    );
    let hand_impact = format!("\u{feff}# Impact of CH-001\r\n\r\nÜber — 🦀 | pipes |\r\n{fence}");
    let impact1 = update(Some(&hand_impact), "", IMPACT, &impact_body(&run1));
    assert!(
        impact1.starts_with(&format!("{hand_impact}\r\n\r\n")),
        "{impact1:?}"
    );
    assert!(impact1.contains("| T001 | First |"));
    assert!(
        !impact1.contains("T001 | First |\n"),
        "CRLF kept in the body"
    );

    // The user edits around the section, then the change runs again.
    let impact_edited =
        format!("{impact1}\r\nNotes after the section.\r\n").replace("Über", "Unter");
    let impact2 = update(Some(&impact_edited), "", IMPACT, &impact_body(&run2));
    assert_eq!(
        outside(&impact2, IMPACT, "CH-001"),
        outside(&impact_edited, IMPACT, "CH-001")
    );
    assert!(
        impact2.contains("| T002 | Second \\| with pipe |"),
        "{impact2}"
    );
    assert!(impact2.starts_with("\u{feff}# Impact of CH-001\r\n\r\nUnter"));
    assert_eq!(
        impact2.matches("git-microloop:begin impact CH-001").count(),
        2
    );

    // IMPLEMENTATION_PLAN.md: other changes' sections and hand-written text around them.
    let other = format!(
        "{}\nkeep me\n{}\n",
        begin_marker(PLAN, "CH-000"),
        end_marker(PLAN, "CH-000")
    );
    let hand_plan = format!("# Plan\n\nIntro.\n\n{other}\nTrailing notes.");
    let plan1 = update(
        Some(&hand_plan),
        PLAN_TEMPLATE,
        PLAN,
        &plan_body(&run1, None),
    );
    assert!(plan1.starts_with(&format!("{hand_plan}\n\n")));
    assert!(plan1.contains("Progress: 1 / 2 micro-tasks settled"));
    let plan_edited = plan1.replace("Intro.", "Intro, edited.");
    let plan2 = update(
        Some(&plan_edited),
        PLAN_TEMPLATE,
        PLAN,
        &plan_body(&run2, Some("run run-1 purged")),
    );
    assert_eq!(
        outside(&plan2, PLAN, "CH-001"),
        outside(&plan_edited, PLAN, "CH-001")
    );
    assert!(plan2.contains(&other));
    assert!(plan2.contains("Progress: 2 / 2 micro-tasks settled"));
    assert!(plan2.contains("- Note: run run-1 purged\n"));

    // The same run recorded again changes nothing.
    let again = update(
        Some(&plan2),
        PLAN_TEMPLATE,
        PLAN,
        &plan_body(&run2, Some("run run-1 purged")),
    );
    assert_eq!(again, plan2);
}

#[test]
fn a_missing_file_starts_from_its_template() {
    let run = summary("run-1", vec![task("T001", "First", None)], 0);
    let impact = update(None, IMPACT_TEMPLATE, IMPACT, &impact_body(&run));
    let template = new_file(IMPACT_TEMPLATE, "CH-001");
    assert!(impact.starts_with(&template));
    assert!(template.starts_with("# Impact of CH-001\n"));
    assert!(
        impact.contains("| T001 | First | — (pending) |"),
        "{impact}"
    );
    let plan = update(None, PLAN_TEMPLATE, PLAN, &plan_body(&run, None));
    assert!(plan.starts_with(PLAN_TEMPLATE));
    assert!(plan.contains("\n## CH-001\n"));
}

#[test]
fn each_change_gets_its_own_plan_section() {
    let mut text = new_file(PLAN_TEMPLATE, "unused");
    for change in ["CH-001", "CH-002", "CH-003"] {
        text = replace_section(&text, PLAN, change, &format!("{change} v1\n")).unwrap();
    }
    let updated = replace_section(&text, PLAN, "CH-002", "CH-002 v2\n").unwrap();
    assert_eq!(updated, text.replace("CH-002 v1", "CH-002 v2"));
}

#[test]
fn damaged_markers_name_their_lines_and_change_nothing() {
    let (b, e) = (begin_marker(PLAN, "CH-001"), end_marker(PLAN, "CH-001"));
    let cases = [
        (format!("# P\n\n{b}\nbody\n"), "line 3: "),
        (format!("# P\n{e}\n{b}\n{e}\n"), "line 2: "),
        (format!("{b}\n{e}\n\n{b}\nx\n{e}\n"), "lines 1 and 4: "),
    ];
    for (text, want) in cases {
        let err = replace_section(&text, PLAN, "CH-001", "new\n").unwrap_err();
        assert!(err.to_string().starts_with(want), "{err} for {text:?}");
    }
    let err = replace_section(&format!("{b}\n```\n{e}\n"), PLAN, "CH-001", "x").unwrap_err();
    assert_eq!(
        err,
        SectionError::Unclosed {
            line: 1,
            marker: b.clone(),
            open_fence: Some(2)
        }
    );
}

#[test]
fn table_rows_keep_their_columns_whatever_the_titles() {
    let titles = ["a | b", "a \\| b", "line\nbreak", "`code | x`", "||", ""];
    let tasks = titles
        .iter()
        .enumerate()
        .map(|(i, t)| task(&format!("T{i}"), t, Some("c0ffee")))
        .collect();
    let body = impact_body(&summary("run-1", tasks, 2));
    let rows: Vec<&str> = body
        .lines()
        .filter(|l| l.starts_with("| T") && !l.starts_with("| Task"))
        .collect();
    assert_eq!(rows.len(), titles.len(), "{body}");
    for row in rows {
        // GFM splits cells on pipes not preceded by a backslash.
        let bare = row
            .char_indices()
            .filter(|&(i, c)| c == '|' && !row[..i].ends_with('\\'))
            .count();
        assert_eq!(bare, 8, "{row}");
    }
}

// ---- properties ------------------------------------------------------------------------------

const OUR_KIND: &str = PLAN;
const OUR_CHANGE: &str = "CH-001";

/// One line of hand-written text: arbitrary printable text or a tricky fixed one, never a fence
/// or a marker (those come as whole blocks below).
fn plain_line() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,30}",
        Just(String::new()),
        Just("   ".to_string()),
        Just("| a | b |".to_string()),
        Just("Über — 🦀 日本語".to_string()),
        Just("<!-- a comment -->".to_string()),
        Just("    indented code".to_string()),
        Just(format!("    {}", begin_marker(OUR_KIND, OUR_CHANGE))),
    ]
    .prop_filter("no fence, no live marker", |l| {
        let t = l.trim_start_matches(' ');
        !(t.starts_with("```") || t.starts_with("~~~") || t.starts_with("<!-- git-microloop:"))
    })
}

fn ending() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just("\n"), Just("\r\n")]
}

fn lines(max: usize) -> impl Strategy<Value = Vec<(String, &'static str)>> {
    prop::collection::vec((plain_line(), ending()), 0..max)
}

fn join(lines: &[(String, &str)]) -> String {
    lines.iter().map(|(l, nl)| format!("{l}{nl}")).collect()
}

/// A block of hand-written text, every line terminated: plain lines, a closed code fence that may
/// hold our markers (documentation), or another section.
fn block() -> impl Strategy<Value = String> {
    let fenced = (
        prop_oneof![Just("```"), Just("```md"), Just("~~~"), Just("````")],
        lines(4),
        any::<bool>(),
        ending(),
    )
        .prop_map(|(fence, inner, ours, nl)| {
            let close: String = fence
                .chars()
                .take_while(|c| *c == '`' || *c == '~')
                .collect();
            let doc = if ours {
                format!(
                    "{}{nl}{}{nl}",
                    begin_marker(OUR_KIND, OUR_CHANGE),
                    end_marker(OUR_KIND, OUR_CHANGE)
                )
            } else {
                String::new()
            };
            format!("{fence}{nl}{doc}{}{close}{nl}", join(&inner))
        });
    let other = (
        prop_oneof![
            Just((PLAN, "CH-002")),
            Just((IMPACT, "CH-001")),
            Just((PLAN, "CH-0010"))
        ],
        lines(3),
        ending(),
    )
        .prop_map(|((kind, change), inner, nl)| {
            format!(
                "{}{nl}{}{}{nl}",
                begin_marker(kind, change),
                join(&inner),
                end_marker(kind, change)
            )
        });
    prop_oneof![4 => lines(4).prop_map(|l| join(&l)), 1 => fenced, 1 => other]
}

/// Hand-written text: an optional BOM (`at_start`: only a file's first byte can be one), blocks,
/// and optionally a last line without a newline.
fn hand_text(at_start: bool) -> impl Strategy<Value = String> {
    (
        any::<bool>().prop_map(move |bom| bom && at_start),
        prop::collection::vec(block(), 0..5),
        prop::option::of(plain_line()),
    )
        .prop_map(|(bom, blocks, last)| {
            let bom = if bom { "\u{feff}" } else { "" };
            format!("{bom}{}{}", blocks.concat(), last.unwrap_or_default())
        })
}

/// A section body: lines with mixed endings, maybe a closed fence.
fn body() -> impl Strategy<Value = String> {
    (lines(6), any::<bool>()).prop_map(|(l, fence)| {
        let text = join(&l);
        if fence {
            format!("{text}```\n| x |\n```\n")
        } else {
            text
        }
    })
}

fn first_line_ending(text: &str) -> &'static str {
    match text.find('\n') {
        Some(i) if text[..i].ends_with('\r') => "\r\n",
        _ => "\n",
    }
}

/// The body as `replace_section` writes it into a file whose line ending is `nl`.
fn written(body: &str, nl: &str) -> String {
    body.replace("\r\n", "\n")
        .lines()
        .map(|l| format!("{l}{nl}"))
        .collect()
}

fn error_lines(err: &SectionError) -> Vec<usize> {
    match err {
        SectionError::Unclosed {
            line, open_fence, ..
        } => [Some(*line), *open_fence].into_iter().flatten().collect(),
        SectionError::EndBeforeBegin { line, .. }
        | SectionError::OpenFence { line }
        | SectionError::Body { line, .. } => vec![*line],
        SectionError::Duplicate { first, second, .. } => vec![*first, *second],
        SectionError::Overlap {
            line, begin, end, ..
        } => vec![*line, *begin, *end],
        SectionError::InvalidName { .. } => vec![],
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Text before and after an existing section is preserved byte-for-byte across two
    /// replacements, replacing is idempotent, and putting the old body back restores the file.
    #[test]
    fn text_around_a_section_survives_replacements(
        before in hand_text(true),
        after in hand_text(false),
        old in body(),
        new1 in body(),
        new2 in body(),
        marker_nl in ending(),
    ) {
        // The section starts on a line of its own.
        let before = if before.is_empty() || before.ends_with('\n') {
            before
        } else {
            format!("{before}{marker_nl}")
        };
        let begin_line = format!("{}{marker_nl}", begin_marker(OUR_KIND, OUR_CHANGE));
        let nl = first_line_ending(&format!("{before}{begin_line}"));
        let end_line = format!("{}{marker_nl}", end_marker(OUR_KIND, OUR_CHANGE));
        let head = format!("{before}{begin_line}");
        let tail = format!("{end_line}{after}");
        let doc = format!("{head}{}{tail}", written(&old, nl));

        let r1 = replace_section(&doc, OUR_KIND, OUR_CHANGE, &new1).unwrap();
        let r2 = replace_section(&r1, OUR_KIND, OUR_CHANGE, &new2).unwrap();
        prop_assert_eq!(&r1, &format!("{head}{}{tail}", written(&new1, nl)));
        prop_assert_eq!(&r2, &format!("{head}{}{tail}", written(&new2, nl)));
        prop_assert_eq!(&replace_section(&r2, OUR_KIND, OUR_CHANGE, &new2).unwrap(), &r2);
        prop_assert_eq!(replace_section(&r2, OUR_KIND, OUR_CHANGE, &old).unwrap(), doc);
    }

    /// A file without the section keeps every byte when the section is appended, and the
    /// appended section is then found and replaced in place.
    #[test]
    fn appending_keeps_the_whole_file_as_a_prefix(
        text in hand_text(true),
        new1 in body(),
        new2 in body(),
    ) {
        let r1 = replace_section(&text, OUR_KIND, OUR_CHANGE, &new1).unwrap();
        prop_assert!(r1.starts_with(&text));
        let last_line = format!("{}{}", end_marker(OUR_KIND, OUR_CHANGE), first_line_ending(&r1));
        prop_assert!(r1.ends_with(&last_line));
        let r2 = replace_section(&r1, OUR_KIND, OUR_CHANGE, &new2).unwrap();
        prop_assert!(r2.starts_with(&text));
        prop_assert_eq!(&r2, &replace_section(&text, OUR_KIND, OUR_CHANGE, &new2).unwrap());
        prop_assert_eq!(replace_section(&r2, OUR_KIND, OUR_CHANGE, &new1).unwrap(), r1);
    }

    /// Any input at all: no panic; success is idempotent and reversible, errors name real lines.
    #[test]
    fn any_input_is_handled(
        parts in prop::collection::vec(prop_oneof![
            any::<String>(),
            Just("\n".to_string()),
            Just("\r\n".to_string()),
            Just("\r".to_string()),
            Just("```\n".to_string()),
            Just("~~~\n".to_string()),
            Just("\u{feff}".to_string()),
            Just(format!("{}\n", begin_marker(OUR_KIND, OUR_CHANGE))),
            Just(format!("{}\n", end_marker(OUR_KIND, OUR_CHANGE))),
            Just(format!("{}\n", begin_marker(PLAN, "CH-002"))),
            Just(format!("{}\n", end_marker(PLAN, "CH-002"))),
        ], 0..12),
        body in any::<String>(),
    ) {
        let text = parts.concat();
        match replace_section(&text, OUR_KIND, OUR_CHANGE, &body) {
            Ok(out) => {
                prop_assert_eq!(&replace_section(&out, OUR_KIND, OUR_CHANGE, &body).unwrap(), &out);
                let other = replace_section(&out, OUR_KIND, OUR_CHANGE, "other\n").unwrap();
                let back = replace_section(&other, OUR_KIND, OUR_CHANGE, &body).unwrap();
                prop_assert_eq!(&back, &out);
            }
            Err(err) => {
                let file_lines = text.split_inclusive('\n').count();
                let body_lines = body.split_inclusive(['\n', '\r']).count();
                let max = file_lines.max(body_lines);
                for line in error_lines(&err) {
                    prop_assert!(line >= 1 && line <= max, "{} in {:?}", err, text);
                }
            }
        }
    }
}
