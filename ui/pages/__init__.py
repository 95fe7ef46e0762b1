"""The pages of the Jikji UI; each module has a ``render()`` that ``ui/app.py`` navigates to."""
