"""MAKER on the Towers of Hanoi: the engine. Pure Python; imports nothing from Textual."""
