"""The gui sample's window: a button that calls into Rust and shows the result.

The result goes into the label and, mirrored, into the window's title, so a test can read
it through the X server (`xdotool getwindowname`) as well as see it in a screenshot.
"""

import tkinter

import guicore

TITLE = "packager GUI sample"
N = 30


def main() -> None:
    root = tkinter.Tk(className="packager-gui-sample")
    root.title(TITLE)
    # A fixed size, the button filling the top half: a test clicks at a known spot.
    root.geometry("480x240+0+0")
    result = tkinter.Label(root, text="press Compute", font=("Helvetica", 20))

    def compute() -> None:
        text = f"fib({N}) = {guicore.fib(N)}"
        result.configure(text=text)
        root.title(f"{TITLE}: {text}")

    button = tkinter.Button(root, text="Compute", font=("Helvetica", 20), command=compute)
    button.place(relx=0, rely=0, relwidth=1, relheight=0.5)
    result.place(relx=0, rely=0.5, relwidth=1, relheight=0.5)
    root.mainloop()


main()
