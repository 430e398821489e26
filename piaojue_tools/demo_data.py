"""Realistic sample data for simulations, demos and benchmarks (display text only)."""

from __future__ import annotations

import random

PROJECTS: list[tuple[str, str, int]] = [
    ("背街小巷改造提升", "对城区 86 条背街小巷的路面、排水、照明和立面进行整体改造。", 120_000_000),
    ("老旧小区加装电梯", "为 2000 年前建成的老旧住宅加装电梯 300 部，财政每部补助 20 万元。", 60_000_000),
    ("社区居家养老服务中心建设", "新建 24 个社区养老服务中心，提供助餐、日间照料和康复服务。", 48_000_000),
    ("中小学食堂提质改造", "改造 35 所中小学食堂，实现明厨亮灶和营养配餐。", 35_000_000),
    ("城区公共停车位新增", "利用边角地和立体车库新增公共停车位 5000 个。", 90_000_000),
    ("农村公路提档升级", "改造提升农村公路 150 公里，完善安全防护设施。", 150_000_000),
    ("口袋公园和绿道建设", "新建口袋公园 30 个、城市绿道 40 公里。", 42_000_000),
    ("农贸市场标准化改造", "对 18 个农贸市场进行标准化、智慧化改造。", 27_000_000),
    ("新能源汽车公共充电桩建设", "在居住区和公共停车场新建公共充电桩 3000 个。", 33_000_000),
    ("社区卫生服务站标准化建设", "新建和改造社区卫生服务站 20 个，配齐基本医疗设备。", 30_000_000),
    ("城市易涝点综合治理", "治理城区 25 处易涝积水点，改造雨污管网 60 公里。", 110_000_000),
    ("全民健身场地设施建设", "新建多功能运动场 40 处、健身路径 100 条。", 25_000_000),
    ("普惠托育服务扩容", "新增普惠托位 2000 个，支持社区嵌入式托育点建设。", 38_000_000),
    ("农村饮水安全巩固提升", "改造农村供水工程 45 处，惠及 12 万人。", 56_000_000),
    ("校园周边交通安全整治", "对 60 所学校周边道路实施护学通道和信号灯改造。", 18_000_000),
    ("公共厕所新建和改造", "新建和改造公共厕所 120 座，增设无障碍设施。", 24_000_000),
    ("城乡公交线网优化", "新开和优化公交线路 30 条，更新新能源公交车 100 辆。", 75_000_000),
    ("困难群众住房救助", "为 1500 户困难家庭提供住房保障和危房改造补助。", 45_000_000),
    ("社区食堂和老年助餐点建设", "建设社区食堂和助餐点 50 个，覆盖主要街道。", 20_000_000),
    ("垃圾分类设施提升", "更新分类投放点 800 个，建设大件垃圾处理中心。", 36_000_000),
    ("无障碍环境建设", "改造公共建筑和道路无障碍设施 500 处。", 15_000_000),
    ("智慧便民服务终端进社区", "在 100 个社区布设政务自助终端，实现就近办理。", 12_000_000),
    ("河道生态修复", "对 6 条城区河道实施清淤、护岸和生态修复。", 88_000_000),
]


def projects(count: int) -> list[dict[str, object]]:
    """The first ``count`` sample projects as §4.1 options with display fields."""
    if not 1 <= count <= len(PROJECTS):
        raise ValueError(f"there are {len(PROJECTS)} sample projects")
    return [
        {"id": f"p{i + 1:02d}", "label": name, "description": description, "budget_cny": budget}
        for i, (name, description, budget) in enumerate(PROJECTS[:count])
    ]


NOMINEES = [
    {"id": "n1", "name": "王建国", "post": "市发展和改革委员会主任"},
    {"id": "n2", "name": "李秀英", "post": "市教育局局长"},
    {"id": "n3", "name": "张志强", "post": "市卫生健康委员会主任"},
]

CANDIDATES = [
    {"id": "c1", "label": "刘海燕", "description": "女，1972 年生，市工商联副主席"},
    {"id": "c2", "label": "陈国平", "description": "男，1968 年生，某区人大常委会副主任"},
    {"id": "c3", "label": "赵明华", "description": "男，1975 年生，市律师协会会长"},
]

DEPARTMENTS = [
    {"id": "d1", "name": "市住房和城乡建设局"},
    {"id": "d2", "name": "市交通运输局"},
    {"id": "d3", "name": "市生态环境局"},
    {"id": "d4", "name": "市市场监督管理局"},
]

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志海燕晓东文斌春梅丹宇辉婷鹏飞浩"
_DELEGATIONS = ["城东区代表团", "城西区代表团", "高新区代表团", "南湖县代表团", "北山县代表团", "解放军代表团"]


def _section(n: int) -> str:
    """Hall sections A, B, …, Z, AA, AB, … (100 seats each)."""
    label = ""
    n += 1
    while n:
        n, remainder = divmod(n - 1, 26)
        label = chr(ord("A") + remainder) + label
    return label


def deputy_roster(count: int, seed: int = 0) -> list[dict[str, str]]:
    """``count`` deputies with plausible Chinese names, unique seats (``001``… or ``A001``…) and
    delegations."""
    rng = random.Random(seed)
    roster = []
    for i in range(count):
        name = rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.choice((1, 2))))
        seat = f"{_section(i // 100)}{i % 100 + 1:03d}" if count > 100 else f"{i + 1:03d}"
        roster.append({"seat": seat, "name": name, "group": _DELEGATIONS[i % len(_DELEGATIONS)]})
    return roster
