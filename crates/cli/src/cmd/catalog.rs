//! `switchboard catalog ...`: browse activities and events.

use std::path::PathBuf;
use std::process::ExitCode;

use super::{load_catalog, Output};

#[derive(clap::Subcommand)]
pub enum CatalogCommand {
    /// List activities (and, with --events, event specifications).
    ///
    /// Example: switchboard catalog list --group action --contact-type workItem
    List {
        /// Only activities of this group: start, action, event, end.
        #[arg(long)]
        group: Option<String>,
        /// Only activities offered for this contact type (telephony, customMessaging,
        /// workItem, genericAction).
        #[arg(long)]
        contact_type: Option<String>,
        /// List event specifications instead of activities.
        #[arg(long)]
        events: bool,
        #[arg(long, value_enum, default_value_t)]
        output: Output,
        /// A directory of catalog JSON files replacing the built-in catalog.
        #[arg(long, value_name = "DIR")]
        catalog: Option<PathBuf>,
    },
    /// Show one activity: inputs, ports, outputs (like describeActivity).
    Show {
        /// Activity name, e.g. play-message.
        name: String,
        #[arg(long, value_enum, default_value_t)]
        output: Output,
        #[arg(long, value_name = "DIR")]
        catalog: Option<PathBuf>,
    },
}

pub fn run(cmd: CatalogCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        CatalogCommand::List {
            group,
            contact_type,
            events,
            output,
            catalog,
        } => {
            let cat = load_catalog(catalog.as_deref())?;
            if let Some(g) = &group {
                if ::catalog::Group::parse(g).is_none() {
                    eprintln!("error: unknown group '{g}' (expected start, action, event or end)");
                    return Ok(ExitCode::from(2));
                }
            }
            if events {
                let list: Vec<_> = cat
                    .events()
                    .iter()
                    .filter(|e| {
                        contact_type
                            .as_ref()
                            .is_none_or(|c| e.contact_types.contains(c))
                    })
                    .collect();
                match output {
                    Output::Json => println!("{}", serde_json::to_string_pretty(&list)?),
                    Output::Human => {
                        for e in list {
                            println!(
                                "{:<28} {:<6} {}",
                                e.name,
                                format!("{:?}", e.binding).to_lowercase(),
                                e.display_name
                            );
                        }
                    }
                }
                return Ok(ExitCode::SUCCESS);
            }
            let list: Vec<_> = cat
                .activities()
                .iter()
                .filter(|a| group.as_ref().is_none_or(|g| a.group.as_str() == g))
                .filter(|a| contact_type.as_ref().is_none_or(|c| a.supports(c)))
                .collect();
            match output {
                Output::Json => println!("{}", serde_json::to_string_pretty(&list)?),
                Output::Human => {
                    for a in list {
                        let ports: Vec<&str> =
                            a.output_ports.iter().map(|p| p.name.as_str()).collect();
                        println!(
                            "{:<22} {:<7} {:<28} ports: {}",
                            a.activity_name,
                            a.group.as_str(),
                            a.display_name,
                            if ports.is_empty() {
                                "-".to_string()
                            } else {
                                ports.join(", ")
                            }
                        );
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        CatalogCommand::Show {
            name,
            output,
            catalog,
        } => {
            let cat = load_catalog(catalog.as_deref())?;
            let Some(a) = cat.activity(&name) else {
                eprintln!(
                    "error: no activity named '{name}'; run `switchboard catalog list` to see them"
                );
                return Ok(ExitCode::from(2));
            };
            match output {
                Output::Json => println!("{}", serde_json::to_string_pretty(a)?),
                Output::Human => {
                    println!(
                        "{} ({}, group {})",
                        a.activity_name,
                        a.display_name,
                        a.group.as_str()
                    );
                    println!("{}\n", a.description);
                    println!("contact types: {}", a.contact_types.join(", "));
                    println!("inputs:");
                    for i in &a.inputs {
                        let mut extra = Vec::new();
                        if i.required {
                            extra.push("required".to_string());
                        }
                        if let Some(k) = i.choices {
                            extra.push(format!("choices: {}", k.as_str()));
                        }
                        if let Some(v) = &i.allowed_values {
                            extra.push(format!("allowed: {}", serde_json::to_string(v)?));
                        }
                        if i.templated {
                            extra.push("templated".into());
                        }
                        println!("  {:<22} {} [{}]", i.name, i.description, extra.join("; "));
                    }
                    println!("output ports:");
                    for p in &a.output_ports {
                        let b = p
                            .branching
                            .as_ref()
                            .map(|b| format!(" (branching on edge properties.{})", b.property))
                            .unwrap_or_default();
                        println!("  {:<22} {}{}", p.name, p.description, b);
                    }
                    println!("outputs:");
                    for o in &a.outputs {
                        println!("  {:<22} {:<9} {}", o.name, o.ty, o.description);
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
