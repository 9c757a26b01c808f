"""The participants service: the brukarbank."""
