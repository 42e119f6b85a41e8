"""Azure Functions blueprints: thin adapters from bindings to scanner.jobs and scanner.api.

Only these modules and function_app.py import azure.functions.
"""
