"""idkarr's HTTP server: webhooks from the download side and the media servers (and, later, the HTTP API),
served by uvicorn inside the `idkarr run` event loop."""
