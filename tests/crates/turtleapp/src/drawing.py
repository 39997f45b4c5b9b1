import turtle

screen = turtle.Screen()
screen.setup(320, 240)
screen.title("packager turtle drawing")
pen = turtle.Turtle()
for _ in range(4):
    pen.forward(80)
    pen.left(90)
print("square drawn", flush=True)
turtle.done()
