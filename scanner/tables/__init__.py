"""Azure Table and Queue Storage adapters: the only code importing azure.data.tables / azure.storage.queue."""
