"""The workspace: its folders and files (store), the pydantic models of every file, ids, image and mask I/O."""
