"""Common given names (US and international), used as "First Last" evidence for PERSON.

Names that are also common English words or months (May, June, Will, Hope, Grace alone...)
are still matched only when followed by a capitalised surname. Extend freely: more names
only add recall to the "First Last" and "Last, First" patterns.
"""

from __future__ import annotations

from agentyard.phi.recognizers._common import words

FIRST_NAMES = frozenset(
    words("""
    Aaron Abdul Abigail Abraham Ada Adam Adaeze Adebayo Adrian Adriana Ahmed Aiden Aisha
    Akira Alan Albert Alberto Alejandra Alejandro Alex Alexander Alexandra Alexis Alfred
    Ali Alice Alicia Alison Allison Alma Amanda Amara Amina Amir Amit Amy Ana Anan Anastasia
    Andre Andrea Andres Andrew Angela Angelica Anil Anita Ann Anna Anne Annie Anthony Antonio
    Anya Arjun Arthur Arturo Asha Ashley Audrey Austin Ava Ayesha Barbara Beatriz Ben
    Benjamin Bernadette Bernard Beth Betty Beverly Bianca Bill Billy Blessing Bobby Bonnie
    Brandon Brenda Brian Brittany Bruce Bryan Caleb Camila Carl Carla Carlos Carmen Carol
    Caroline Carolyn Catherine Cecilia Charles Charlotte Chen Cheryl Chidi Chinedu Chloe
    Chris Christian Christina Christine Christopher Cindy Claire Clara Claudia Connor Craig
    Cristina Crystal Cynthia Daniel Daniela Danielle Darius David Dawn Debbie Deborah Debra
    Deepa Denise Dennis Derek Diana Diane Diego Dmitri Dolores Dominic Donald Donna Doris
    Dorothy Douglas Dylan Earl Edith Eduardo Edward Edwin Elaine Elena Eleanor Eli Elijah
    Elizabeth Ella Ellen Emily Emma Enrique Eric Erica Erik Erin Ernesto Esther Ethan Eugene
    Evelyn Fatima Felipe Fernando Fiona Florence Frances Francis Francisco Frank Gabriel
    Gabriela Gail Gary George Gerald Gina Giovanni Gloria Grace Graham Gregory Guadalupe
    Hakim Hana Hannah Harold Harry Haruka Hassan Heather Helen Henry Hiroshi Holly Howard
    Hugo Ian Ibrahim Ines Irene Isaac Isabel Isabella Ivan Jack Jacob Jacqueline Jamal James
    Jamie Jan Jane Janet Janice Jason Javier Jean Jeffrey Jennifer Jeremy Jerry Jesse Jessica
    Jesus Jill Jim Jimmy Joan Joanna Joe Joel John Johnny Jonathan Jordan Jorge Jose Joseph
    Joshua Joyce Juan Judith Judy Julia Julian Julie Justin Kamal Karen Karim Kate Katherine
    Kathleen Kathryn Kathy Kayla Keisha Keith Kelly Kenji Kenneth Kevin Kim Kimberly Kofi
    Kristen Kumar Kwame Kyle Laura Lauren Lawrence Leah Lee Leila Leon Leonard Leticia Li
    Lily Linda Lisa Lorenzo Lori Louis Louise Lucas Lucia Luis Luke Lydia Madison Maggie
    Malik Manuel Marco Marcus Margaret Marguerite Maria Mariana Marie Marilyn Mario Marisol
    Mark Marsha Martha Martin Mary Mateo Matthew Maya Megan Mei Melissa Mia Michael Michelle
    Miguel Mikhail Mildred Min Mohamed Mohammed Monica Muhammad Nadia Nancy Naomi Natalia
    Natalie Nathan Nicholas Nicole Nikolai Nina Noah Noor Norma Obinna Oksana Olga Oliver
    Olivia Olumide Oluwaseun Omar Oscar Pablo Pamela Patricia Patrick Paul Paula Pedro Peggy
    Peter Philip Phyllis Pierre Pooja Priya Rachel Rafael Rahul Raj Rajesh Ralph Ramon
    Randy Raquel Ravi Raymond Rebecca Renee Ricardo Richard Rita Robert Roberto Robin Rodrigo
    Roger Rohan Ronald Rosa Rosalind Rose Ruby Russell Ruth Ryan Sabrina Samantha Samuel
    Sandra Sanjay Sara Sarah Scott Sean Sergei Shannon Sharon Shawn Sheila Shirley Sofia
    Sophia Stacy Stephanie Stephen Steven Sunita Susan Svetlana Sylvia Takeshi Tamara Tanya
    Tatiana Teresa Terry Thabo Theresa Thomas Tiffany Timothy Tina Todd Tomas Tony Tracy
    Tyler Valentina Valerie Vanessa Veronica Vicente Victor Victoria Vijay Vincent
    Vivian Walter Wanda Wayne Wei Wendy William Xavier Xiomara Yara Yasmin Yolanda Yuki
    Yusuf Zachary Zainab Zoe
    Abdirahman Adele Agnes Alfonso Alvin Ambrose Amos Angus Annette Antoinette Archie
    Augusta Aurora Barry Beatrice Benedict Bernice Bertha Blanche Bridget Calvin Candace
    Cassandra Cecil Chester Clarence Claude Clifford Clyde Colleen Cornelius Curtis Dale
    Darnell Deandre Delores Desmond Dewayne Dolly Dominique Duane Dwight Edgar Edna Efrain
    Eileen Elmer Eloise Elsie Emeka Emmanuel Ernest Estelle Ethel Eunice Everett Felix
    Florian Floyd Francine Fred Frederick Gareth Geneva Genevieve Geraldine Gertrude Gilbert
    Gladys Glenn Gordon Gustavo Gwendolyn Harriet Hazel Herbert Herman Hilda Horace Hubert
    Ida Ignacio Imani Inez Ingrid Irma Irving Isaiah Jacques Jasmine Jerome Jolene Josephine
    Juanita Julius Kareem Kendra Kurt Lamar Latoya Laverne Leroy Leslie Lester Lillian
    Lloyd Lois Lonnie Loretta Lorraine Lucille Luther Mabel Marcel Marian Marvin Maurice
    Maxine Melvin Milton Miriam Mohan Myrtle Nadine Nathaniel Neil Nellie Nora Norman
    Odessa Opal Orlando Otis Pauline Percy Perry Priscilla Quentin Rashid Regina Reginald
    Reuben Rhonda Rodney Roland Roosevelt Rosalie Roxanne Rudolph Rufus Salvador Selma
    Seymour Sherman Shirin Sidney Silas Simone Stanley Stella Stuart Sybil Thelma Tyrone
    Ursula Vera Vernon Viola Wallace Warren Wilbur Wilfred Willard Willie Wilma Winifred
    Yvonne
    Abena Abimbola Adama Adeola Adewale Afua Akosua Ama Amadou Aminata Babajide Bamidele
    Binta Bolaji Chiamaka Chidinma Chiamaka Chinonso Chukwuemeka Damilola Efua Ekene Fatou
    Folake Funmilayo Ibrahima Ifeoma Ikechukwu Kayode Kehinde Kwabena Kwaku Mamadou Moussa
    Ngozi Nnamdi Oumar Ousmane Sekou Taiwo Tunde Uchenna Yaw Yetunde
    Agnieszka Aleksander Andrzej Bartosz Bogdan Dariusz Dorota Elzbieta Ewa Grzegorz Halina
    Jadwiga Jakub Janusz Jerzy Joanna Katarzyna Krzysztof Lukasz Maciej Malgorzata Marek
    Marzena Michal Pawel Piotr Radoslaw Stanislaw Tadeusz Tomasz Urszula Wojciech Zbigniew
    Zofia Zuzanna Dmitry Galina Ludmila Natasha Oleg Pavel Vladimir Yelena Yuri
    Anh Bao Binh Chau Cuong Dung Duc Hai Hanh Hieu Hoa Hoang Hung Huong Huy Khanh Lan Linh
    Mai Minh Nga Ngoc Nhung Phuong Quang Thanh Thao Thu Thuy Trang Trinh Tuan Tung Vinh
    Xuan Yen Hyun Jae Ji Jin Jung Min-jun Seo Seung Soo Sung Yoon Haruto Hina Kaito Keiko
    Naoki Ren Sakura Satoshi Yui Yumi Jun Lei Ming Ping Qiang Xiaoming Xin Yan Yong Zhen
    Abdullah Ahmad Aliyu Amal Anwar Ayman Bilal Farah Faisal Farid Habib Hamza Hanan Hussein
    Idris Jamila Khadija Khalid Layla Mahmoud Mariam Mona Mustafa Nabil Nasser Omar Rania
    Rashida Salma Samir Sami Tariq Walid Yasir Youssef Zahra Zayd
    Aarav Aditi Aditya Akash Ananya Anjali Arun Bhavna Deepak Divya Gaurav Geeta Harpreet
    Jaspreet Kavita Kiran Lakshmi Manish Meena Neha Nikhil Preeti Rakesh Ramesh Rekha
    Sandeep Sangeeta Shreya Simran Suresh Swati Varun Vikram Vivek
    Alejandro Araceli Beatriz Carolina Consuelo Dulce Esperanza Estela Fernanda Graciela
    Guillermo Itzel Jacinto Leonardo Lourdes Marisela Maricela Milagros Nayeli Octavio
    Paloma Reyna Rocio Rogelio Socorro Ximena Yesenia
    Aoife Ciaran Ciara Declan Eamon Niamh Oisin Padraig Siobhan Sinead Seamus
    Bram Daan Henk Joost Maarten Pieter Sanne Willem Anouk Lars Sven Astrid Ingrid
    Aaliyah Darius Deshawn Ebony Jalen Jamal Keyshawn Lakisha Latasha Malik Shaniqua
    Tameka Tanisha Trevon Tyrell
    Ade Bisi Bisola Dayo Femi Ronke Segun Seun Sola Temitope Tolu Tolulope Wale Yemi
    Abby Barb Becky Bob Bobbie Cathy Chuck Dave Ellie Hank Jen Jenny Joey Katie Kathy Liz
    Matt Meg Mike Nate Nick Patty Rick Sam Steve Ted Tom Tommy Vinny
    """)
)

# Given names that are also everyday English words: not evidence of a name in lowercase text
# ("pt will return"), where only a role word and the given name mark it.
_WORD_LIKE = frozenset(
    words("""
    will may june april august grace hope faith joy rose ruby pearl mark bill sue pat art dawn
    amber crystal lily daisy holly ivy iris violet olive summer autumn jean drew chase hunter
    mason cole dean frank guy jack ray rich rob ron rusty sandy stormy sunny wendy ken nick
    matt sam ted tom kim lee long min li jan eli ben max les lane norma mai lan ren jun yan
    hai ping yong bao dung long floor said will harry gene glenn neil
    """)
)
LOWERCASE_FIRST_NAMES = frozenset(n.lower() for n in FIRST_NAMES) - _WORD_LIKE
