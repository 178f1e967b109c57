//! The imports area's secondary navigation (pages.md §1.2): separate pages shown as tabs, each with its count.

use super::layout::NavCounts;

pub struct Tab {
    pub text: &'static str,
    pub href: &'static str,
    pub count: Option<usize>,
    pub current: bool,
}

/// "Recent imports" for everyone; "Import issues (N)" for teams that are not national reporting; "Important notices
/// (N)" for super admins. `current` is the path of the page showing them.
pub fn import_tabs(counts: &NavCounts, current: &str) -> Vec<Tab> {
    let mut tabs = vec![Tab { text: "Recent imports", href: "/imports", count: None, current: false }];
    if let Some(count) = counts.open_issues {
        tabs.push(Tab { text: "Import issues", href: "/imports/issues", count: Some(count), current: false });
    }
    if let Some(count) = counts.notices {
        tabs.push(Tab { text: "Important notices", href: "/imports/notices", count: Some(count), current: false });
    }
    for tab in &mut tabs {
        tab.current = tab.href == current;
    }
    tabs
}

/// The selected tab's text, for the visually hidden heading after the list.
pub fn current_text(tabs: &[Tab]) -> &'static str {
    tabs.iter().find(|t| t.current).map_or("", |t| t.text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_tab_should_show_only_to_whom_it_is_for() {
        let nurse = import_tabs(&NavCounts { open_issues: Some(2), notices: None }, "/imports/issues");
        let texts: Vec<_> = nurse.iter().map(|t| (t.text, t.count, t.current)).collect();
        assert_eq!(texts, [("Recent imports", None, false), ("Import issues", Some(2), true)]);
        let admin = import_tabs(&NavCounts { open_issues: Some(0), notices: Some(1) }, "/imports/notices");
        assert_eq!(current_text(&admin), "Important notices");
        assert_eq!(admin.len(), 3);
        let reporter = import_tabs(&NavCounts::default(), "/imports");
        assert_eq!(reporter.len(), 1);
    }
}
