"""Not a web app: a GUI toolkit's on_event must not be flagged."""


class Button:
    def on_event(self, name):
        return lambda fn: fn


button = Button()


@button.on_event(name="clicked")
def clicked():
    pass
