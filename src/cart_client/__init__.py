"""cart_client."""
