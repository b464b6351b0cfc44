"""The agents of the mesh, one per module. Agents never import each other: they meet on topics."""
