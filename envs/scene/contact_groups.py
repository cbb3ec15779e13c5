"""Contact groups: the ``contype``/``conaffinity`` bitmasks that decide which geoms of a care scene touch.

MuJoCo lets two geoms collide when ``contype`` of one shares a bit with ``conaffinity`` of the other. Default
geoms (robot, objects, floor) are ``1/1``. The person touches default geoms and the furniture but not itself
(2 & (1 | 4) == 0), so the body's capsules may overlap at the joints; the chair, wheelchair or bed carries the
person's weight through contacts. Furniture touches the robot, objects and the person. Scene pieces and the person
import these from here, so neither imports the other.
"""

#: the robot's geoms carry this bit besides the default 1, so a piece can touch the robot without the floor and the
#: objects (the cloth)
ROBOT_BIT = 64
PERSON_CONTYPE, PERSON_CONAFFINITY = 2, 1 | 4  # touches default geoms (1) and furniture (4), not itself
FURNITURE_CONTYPE, FURNITURE_CONAFFINITY = 4, 1  # touches robot and objects; the person through its affinity
#: screw threads touch only threads: a nut's ridge and a bolt's, never the jaws, the bench or the nut's own body
#: (32 shares no bit with the others, the cloth's 8 and 16 included), which keeps a threaded pair's many small
#: contacts to the pairs that carry the helix
THREAD_CONTYPE, THREAD_CONAFFINITY = 32, 32
