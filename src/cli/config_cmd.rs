//! `console config path` and `console config show`.

use super::Global;
use super::output::print_line;
use crate::config::{Config, config_path};
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the path of the config file.
    Path,
    /// Print the settings in effect (API keys are never printed).
    Show,
}

pub fn run(global: &Global, command: ConfigCommand) -> anyhow::Result<()> {
    match command {
        ConfigCommand::Path => print_line(&config_path()?.display().to_string()),
        ConfigCommand::Show => {
            let config = Config::load()?;
            let mut text = toml::to_string_pretty(&config)?;
            let profile = match (&global.profile, &config.default_profile) {
                (Some(name), _) => format!("{name} (from --profile or CONSOLE_PROFILE)"),
                (None, Some(name)) => format!("{name} (default_profile)"),
                (None, None) => "none (no --profile, CONSOLE_PROFILE or default_profile)".into(),
            };
            config.profile(global.profile.as_deref())?;
            text.push_str(&format!("\n# profile in effect: {profile}"));
            text.push_str(&format!(
                "\n# default store: {}\n",
                config.default_store()?.display()
            ));
            if global.api_key.is_some() {
                text.push_str("# api key: set (from --api-key or CONSOLE_API_KEY) ****\n");
            }
            print!("{text}");
            Ok(())
        }
    }
}
