"""The model service, servable models, their cache and the bounds of answers about them."""
