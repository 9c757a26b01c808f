"""The matching service: fair, explainable panels from the brukarbank."""
