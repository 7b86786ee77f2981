"""Hosting models on Ray Serve behind the OpenAI API: :mod:`~evalray.serving.deploy` (deploy, attach, tear down),
:mod:`~evalray.serving.openai_app` (the hf-backed deployment) and :mod:`~evalray.serving.hf_engine` (its model side).
Nothing here starts Ray at import."""
