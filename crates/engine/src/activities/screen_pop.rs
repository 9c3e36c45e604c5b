//! `screen-pop`: attaches a web page to the contact for the agent's desktop (`ScreenPop`,
//! no answer needed): the URL with its `queryParameters` resolved and percent-encoded, the
//! display setting and tab label. Local behaviour: the runtime attaches the pop to the task
//! and delivers it with the agent-offered event.

use super::common::with_query;
use crate::command::{Command, ScreenPop};
use crate::compile::{CompileCx, Input};
use crate::expr::Expr;
use crate::run::{Cx, Failure, Outcome};

pub(crate) use super::no_resume as resume;

#[derive(Debug)]
pub(crate) struct Config {
    url: Expr,
    query: Option<Input>,
    display: String,
    tab_label: Option<Expr>,
}

pub(crate) fn compile(cx: &mut CompileCx<'_>) -> Result<Config, String> {
    Ok(Config {
        url: cx.expr_req("url")?,
        query: cx.input("queryParameters")?,
        display: cx.string("displaySettings")?.unwrap_or_else(|| "newBrowserTab".to_owned()),
        tab_label: cx.expr("tabLabel")?,
    })
}

pub(crate) fn run(c: &Config, cx: &mut Cx<'_>) -> Outcome {
    let pop: Result<ScreenPop, Failure> = (|| {
        let url = cx.text("url", &c.url)?;
        let query = c.query.as_ref().map(|q| cx.eval_input("queryParameters", q)).transpose()?;
        let tab_label = c.tab_label.as_ref().map(|t| cx.text("tabLabel", t)).transpose()?;
        Ok(ScreenPop {
            url: with_query(&url, query.as_ref()),
            display_settings: c.display.clone(),
            tab_label,
        })
    })();
    match pop {
        Ok(pop) => {
            cx.emit(Command::ScreenPop(pop));
            Outcome::Port("out")
        }
        Err(f) => Outcome::Fail(f),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::activities::testkit::*;
    use crate::Start;

    #[test]
    fn builds_the_pop() {
        let k = Kit::new(flow(
            json!([]),
            json!([node("Pop", "screen-pop", json!({
                "url": "https://crm.example.com/contact",
                "queryParameters": {"ani": "{{ Start.ANI }}"},
                "tabLabel": "CRM {{ Start.ANI }}"
            }))]),
            json!([["Start", "Pop", "out"]]),
        ));
        let mut s = Start::default();
        s.outputs.insert("ANI".into(), json!("+1 415"));
        let (_, out) = k.start_with(s);
        assert_eq!(
            commands(&out)[0],
            json!({"type": "screenPop", "url": "https://crm.example.com/contact?ani=%2B1%20415",
                   "displaySettings": "newBrowserTab", "tabLabel": "CRM +1 415"})
        );
    }
}
