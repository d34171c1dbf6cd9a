"""A generic, persistent BPMN runtime on SpiffWorkflow.

Nothing in this package knows what a complaint is: it deploys versioned bundles,
runs instances one transaction per command, keeps derived task and timer rows,
an audit chain and working-time calendars. Domain code plugs in through
:class:`engine.handlers.HandlerRegistry`.
"""
