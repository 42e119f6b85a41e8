"""Azure Functions entry point (Python v2 programming model). Triggers stay thin."""

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
