"""Views of one contact across domains (its companies, tags, activities, tasks and change
events): the contact with what surrounds it, its timeline, its summary."""
