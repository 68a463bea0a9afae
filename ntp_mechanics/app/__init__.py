"""The application, the top layer: commands, report, gate, paper reproduction, figures,
and the pytest plugin.  Nothing below imports it."""
